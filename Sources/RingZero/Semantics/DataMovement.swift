// MOV, MOVABS, MOVZX, MOVSX, MOVSXD, LEA, XCHG, CBW/CWDE/CDQE, CWD/CDQ/CQO, CMOVcc, SETcc.
// None of them changes a flag.

extension Machine {
    func mov(_ op: Op) throws(GuestException) {
        let value = try readSource(op, size: op.size)
        write(try destination(op), op.size, value)
    }

    func movzx(_ op: Op) throws(GuestException) {
        let value = try readSource(op, size: op.srcSize)
        writeGPR(op.dstReg, op.size, value)
    }

    /// MOVSX and MOVSXD; MOVSXD with a 32-bit destination is a plain 32-bit move.
    func movsx(_ op: Op) throws(GuestException) {
        let value = try readSource(op, size: op.srcSize)
        writeGPR(op.dstReg, op.size, signExtend(value, from: op.srcSize))
    }

    /// LEA stores the effective address, truncated to the operand size; no memory is touched.
    func lea(_ op: Op) {
        writeGPR(op.dstReg, op.size, effectiveAddress(op))
    }

    func xchg(_ op: Op) throws(GuestException) {
        let dst = try destination(op)
        let srcLocation: Location = op.srcKind == .regHigh8 ? .high8(op.srcReg) : (op.srcKind == .mem ? .memory(try linearAddress(op)) : .gpr(op.srcReg))
        let a = read(dst, op.size)
        let b = read(srcLocation, op.size)
        write(dst, op.size, b)
        write(srcLocation, op.size, a)
    }

    /// CBW, CWDE, CDQE: sign-extend the lower half of the accumulator into all of it.
    func cbw(_ op: Op) {
        let half = op.size / 2
        writeGPR(0, op.size, signExtend(readGPR(0, half), from: half))
    }

    /// CWD, CDQ, CQO: fill rDX with the sign of rAX.
    func cwd(_ op: Op) {
        let negative = readGPR(0, op.size) & signBit(op.size) != 0
        writeGPR(2, op.size, negative ? .max : 0)
    }

    /// CMOVcc reads its source even when the condition fails (a bad address faults), and a
    /// 32-bit destination is zero-extended either way (SDM Vol. 2 CMOVcc).
    func cmovcc(_ op: Op) throws(GuestException) {
        let value = try readSource(op, size: op.size)
        if conditionHolds(op.cond) {
            writeGPR(op.dstReg, op.size, value)
        } else if op.size == 4 {
            writeGPR(op.dstReg, 4, readGPR(op.dstReg, 4))
        }
    }

    func setcc(_ op: Op) throws(GuestException) {
        write(try destination(op), 1, conditionHolds(op.cond) ? 1 : 0)
    }
}
