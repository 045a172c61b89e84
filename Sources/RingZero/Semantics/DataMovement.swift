// MOV, MOVABS, MOVZX, MOVSX, MOVSXD, LEA, XCHG, CBW/CWDE/CDQE, CWD/CDQ/CQO, CMOVcc, SETcc.
// None of them changes a flag.

extension Machine {
    func mov(_ op: UnsafePointer<Op>) throws(GuestException) {
        let value = try readSource(op, size: op.pointee.size)
        write(try destination(op), op.pointee.size, value)
    }

    func movzx(_ op: UnsafePointer<Op>) throws(GuestException) {
        let value = try readSource(op, size: op.pointee.srcSize)
        writeGPR(op.pointee.dstReg, op.pointee.size, value)
    }

    /// MOVSX and MOVSXD; MOVSXD with a 32-bit destination is a plain 32-bit move.
    func movsx(_ op: UnsafePointer<Op>) throws(GuestException) {
        let value = try readSource(op, size: op.pointee.srcSize)
        writeGPR(op.pointee.dstReg, op.pointee.size, signExtend(value, from: op.pointee.srcSize))
    }

    /// LEA stores the effective address, truncated to the operand size; no memory is touched.
    func lea(_ op: UnsafePointer<Op>) {
        writeGPR(op.pointee.dstReg, op.pointee.size, effectiveAddress(op))
    }

    func xchg(_ op: UnsafePointer<Op>) throws(GuestException) {
        let dst = try destination(op)
        let srcLocation: Location = op.pointee.srcKind == .regHigh8 ? .high8(op.pointee.srcReg) : (op.pointee.srcKind == .mem ? .memory(try linearAddress(op)) : .gpr(op.pointee.srcReg))
        let a = read(dst, op.pointee.size)
        let b = read(srcLocation, op.pointee.size)
        write(dst, op.pointee.size, b)
        write(srcLocation, op.pointee.size, a)
    }

    /// CBW, CWDE, CDQE: sign-extend the lower half of the accumulator into all of it.
    func cbw(_ op: UnsafePointer<Op>) {
        let half = op.pointee.size / 2
        writeGPR(0, op.pointee.size, signExtend(readGPR(0, half), from: half))
    }

    /// CWD, CDQ, CQO: fill rDX with the sign of rAX.
    func cwd(_ op: UnsafePointer<Op>) {
        let negative = readGPR(0, op.pointee.size) & signBit(op.pointee.size) != 0
        writeGPR(2, op.pointee.size, negative ? .max : 0)
    }

    /// CMOVcc reads its source even when the condition fails (a bad address faults), and a
    /// 32-bit destination is zero-extended either way (SDM Vol. 2 CMOVcc).
    func cmovcc(_ op: UnsafePointer<Op>) throws(GuestException) {
        let value = try readSource(op, size: op.pointee.size)
        if conditionHolds(op.pointee.cond) {
            writeGPR(op.pointee.dstReg, op.pointee.size, value)
        } else if op.pointee.size == 4 {
            writeGPR(op.pointee.dstReg, 4, readGPR(op.pointee.dstReg, 4))
        }
    }

    func setcc(_ op: UnsafePointer<Op>) throws(GuestException) {
        write(try destination(op), 1, conditionHolds(op.pointee.cond) ? 1 : 0)
    }
}
