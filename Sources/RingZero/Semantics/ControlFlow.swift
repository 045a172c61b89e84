// Near CALL, RET, JMP, Jcc, JCXZ/JECXZ/JRCXZ, LOOP/LOOPE/LOOPNE (SDM Vol. 2). Targets are
// truncated to the operand size (16 or 32 bits) outside 64-bit mode; in 64-bit mode a
// non-canonical target raises #GP(0) at the branch, before anything changes.

extension Machine {
    @inline(__always) private func branchTarget(_ target: UInt64, _ op: UnsafePointer<Op>) throws(GuestException) -> UInt64 {
        switch op.pointee.size {
        case 2: return target & 0xFFFF
        case 4: return target & 0xFFFF_FFFF
        default:
            if !isCanonical(target) { throw fault(.GP) }
            return target
        }
    }

    @inline(__always) private func jump(to target: UInt64, _ op: UnsafePointer<Op>) throws(GuestException) {
        state.rip = try branchTarget(target, op)
    }

    func call(_ op: UnsafePointer<Op>) throws(GuestException) {
        let target = try branchTarget(UInt64(bitPattern: op.pointee.imm), op)
        try pushValue(op.pointee.nextAddress & sizeMask(op.pointee.size), size: op.pointee.size)
        state.rip = target
    }

    func callIndirect(_ op: UnsafePointer<Op>) throws(GuestException) {
        let target = try branchTarget(try readSource(op, size: op.pointee.size), op)
        try pushValue(op.pointee.nextAddress & sizeMask(op.pointee.size), size: op.pointee.size)
        state.rip = target
    }

    /// RET and RET imm16: pop the return address, then release imm16 more bytes of stack.
    func ret(_ op: UnsafePointer<Op>) throws(GuestException) {
        let (value, newSP) = try peekPop(size: op.pointee.size)
        let target = try branchTarget(value, op)
        commitPop(newSP: (newSP &+ UInt64(bitPattern: op.pointee.imm)) & sizeMask(state.stackAddressSize))
        state.rip = target
    }

    func jmp(_ op: UnsafePointer<Op>) throws(GuestException) {
        try jump(to: UInt64(bitPattern: op.pointee.imm), op)
    }

    func jmpIndirect(_ op: UnsafePointer<Op>) throws(GuestException) {
        try jump(to: try readSource(op, size: op.pointee.size), op)
    }

    func jcc(_ op: UnsafePointer<Op>) throws(GuestException) {
        if conditionHolds(op.pointee.cond) {
            try jump(to: UInt64(bitPattern: op.pointee.imm), op)
        } else {
            charge(op, as: .branchNotTaken)
        }
    }

    /// JCXZ/JECXZ/JRCXZ: the counter width is in `srcSize`.
    func jrcxz(_ op: UnsafePointer<Op>) throws(GuestException) {
        if readGPR(UInt8(GPR.rcx.rawValue), op.pointee.srcSize) == 0 {
            try jump(to: UInt64(bitPattern: op.pointee.imm), op)
        } else {
            charge(op, as: .branchNotTaken)
        }
    }

    /// LOOP family: decrement the address-size-wide counter (without touching flags) and
    /// branch while it is non-zero (and ZF as the variant asks).
    private func loopCommon(_ op: UnsafePointer<Op>, zf: Bool?) throws(GuestException) {
        let rcx = UInt8(GPR.rcx.rawValue)
        let count = (readGPR(rcx, op.pointee.srcSize) &- 1) & sizeMask(op.pointee.srcSize)
        var taken = count != 0
        if let zf { taken = taken && zeroFlag == zf }
        let target = taken ? try branchTarget(UInt64(bitPattern: op.pointee.imm), op) : 0
        writeGPR(rcx, op.pointee.srcSize, count)
        if taken { state.rip = target } else { charge(op, as: .branchNotTaken) }
    }

    func loop(_ op: UnsafePointer<Op>) throws(GuestException) { try loopCommon(op, zf: nil) }
    func loope(_ op: UnsafePointer<Op>) throws(GuestException) { try loopCommon(op, zf: true) }
    func loopne(_ op: UnsafePointer<Op>) throws(GuestException) { try loopCommon(op, zf: false) }
}
