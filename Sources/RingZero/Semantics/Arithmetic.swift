// ADD, ADC, SUB, SBB, CMP, INC, DEC, NEG, and the logical AND, OR, XOR, TEST, NOT.

extension Machine {
    /// Two-operand arithmetic: read both, compute result and flags, optionally write back.
    @inline(__always)
    private func arithmetic(
        _ op: Op, writeBack: Bool,
        _ compute: (UInt64, UInt64) -> (UInt64, UInt64)
    ) throws(GuestException) {
        let src = try readSource(op, size: op.size)
        let dst = try destination(op)
        let (result, flags) = compute(read(dst, op.size), src)
        if writeBack { write(dst, op.size, result) }
        setStatusFlags(flags)
    }

    func add(_ op: Op) throws(GuestException) {
        try arithmetic(op, writeBack: true) { StatusFlags.add($0, $1, carry: 0, op.size) }
    }

    func adc(_ op: Op) throws(GuestException) {
        let c = carryFlag
        try arithmetic(op, writeBack: true) { StatusFlags.add($0, $1, carry: c, op.size) }
    }

    func sub(_ op: Op) throws(GuestException) {
        try arithmetic(op, writeBack: true) { StatusFlags.sub($0, $1, borrow: 0, op.size) }
    }

    func sbb(_ op: Op) throws(GuestException) {
        let c = carryFlag
        try arithmetic(op, writeBack: true) { StatusFlags.sub($0, $1, borrow: c, op.size) }
    }

    func cmp(_ op: Op) throws(GuestException) {
        try arithmetic(op, writeBack: false) { StatusFlags.sub($0, $1, borrow: 0, op.size) }
    }

    func and(_ op: Op) throws(GuestException) {
        try arithmetic(op, writeBack: true) { let r = $0 & $1; return (r, StatusFlags.logic(r, op.size)) }
    }

    func or(_ op: Op) throws(GuestException) {
        try arithmetic(op, writeBack: true) { let r = $0 | $1; return (r, StatusFlags.logic(r, op.size)) }
    }

    func xor(_ op: Op) throws(GuestException) {
        try arithmetic(op, writeBack: true) { let r = $0 ^ $1; return (r, StatusFlags.logic(r, op.size)) }
    }

    func test(_ op: Op) throws(GuestException) {
        try arithmetic(op, writeBack: false) { let r = $0 & $1; return (r, StatusFlags.logic(r, op.size)) }
    }

    /// INC and DEC leave CF unchanged.
    func inc(_ op: Op) throws(GuestException) {
        let dst = try destination(op)
        let (result, flags) = StatusFlags.add(read(dst, op.size), 1, carry: 0, op.size)
        write(dst, op.size, result)
        setFlags(flags, mask: RFLAGS.status & ~RFLAGS.CF)
    }

    func dec(_ op: Op) throws(GuestException) {
        let dst = try destination(op)
        let (result, flags) = StatusFlags.sub(read(dst, op.size), 1, borrow: 0, op.size)
        write(dst, op.size, result)
        setFlags(flags, mask: RFLAGS.status & ~RFLAGS.CF)
    }

    /// NEG: 0 - dst; CF is set unless the operand was 0.
    func neg(_ op: Op) throws(GuestException) {
        let dst = try destination(op)
        let (result, flags) = StatusFlags.sub(0, read(dst, op.size), borrow: 0, op.size)
        write(dst, op.size, result)
        setStatusFlags(flags)
    }

    /// NOT changes no flags.
    func not(_ op: Op) throws(GuestException) {
        let dst = try destination(op)
        write(dst, op.size, ~read(dst, op.size))
    }
}
