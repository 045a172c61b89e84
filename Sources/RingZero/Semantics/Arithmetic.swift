// ADD, ADC, SUB, SBB, CMP, INC, DEC, NEG, and the logical AND, OR, XOR, TEST, NOT.

// The status flags are recorded lazily (LazyFlags.swift): each handler stores its operands and
// result, and the flags are computed only if something reads them.

extension Machine {
    /// Two-operand arithmetic: read both, compute the result, optionally write it back, record
    /// the flags.
    @inline(__always)
    private func arithmetic(_ op: Op, writeBack: Bool, _ kind: LazyFlagsKind, carry: UInt64 = 0,
                            _ compute: (UInt64, UInt64) -> UInt64) throws(GuestException) {
        let src = try readSource(op, size: op.size)
        let dst = try destination(op)
        let a = read(dst, op.size)
        let result = compute(a, src) & sizeMask(op.size)
        if writeBack { write(dst, op.size, result) }
        setLazyFlags(kind, a, src, result, op.size, carry: carry)
    }

    @inline(__always) func add(_ op: Op) throws(GuestException) {
        try arithmetic(op, writeBack: true, .add) { $0 &+ $1 }
    }

    func adc(_ op: Op) throws(GuestException) {
        let c = carryFlag
        try arithmetic(op, writeBack: true, .add, carry: c) { $0 &+ $1 &+ c }
    }

    @inline(__always) func sub(_ op: Op) throws(GuestException) {
        try arithmetic(op, writeBack: true, .sub) { $0 &- $1 }
    }

    func sbb(_ op: Op) throws(GuestException) {
        let c = carryFlag
        try arithmetic(op, writeBack: true, .sub, carry: c) { $0 &- $1 &- c }
    }

    @inline(__always) func cmp(_ op: Op) throws(GuestException) {
        try arithmetic(op, writeBack: false, .sub) { $0 &- $1 }
    }

    @inline(__always) func and(_ op: Op) throws(GuestException) {
        try arithmetic(op, writeBack: true, .logic) { $0 & $1 }
    }

    @inline(__always) func or(_ op: Op) throws(GuestException) {
        try arithmetic(op, writeBack: true, .logic) { $0 | $1 }
    }

    @inline(__always) func xor(_ op: Op) throws(GuestException) {
        try arithmetic(op, writeBack: true, .logic) { $0 ^ $1 }
    }

    @inline(__always) func test(_ op: Op) throws(GuestException) {
        try arithmetic(op, writeBack: false, .logic) { $0 & $1 }
    }

    /// INC and DEC leave CF unchanged: the pending record keeps it.
    @inline(__always) func inc(_ op: Op) throws(GuestException) {
        let dst = try destination(op)
        let a = read(dst, op.size)
        let result = (a &+ 1) & sizeMask(op.size)
        let cf = carryFlag
        write(dst, op.size, result)
        setLazyFlags(.inc, a, 1, result, op.size, carry: cf)
    }

    @inline(__always) func dec(_ op: Op) throws(GuestException) {
        let dst = try destination(op)
        let a = read(dst, op.size)
        let result = (a &- 1) & sizeMask(op.size)
        let cf = carryFlag
        write(dst, op.size, result)
        setLazyFlags(.dec, a, 1, result, op.size, carry: cf)
    }

    /// NEG: 0 - dst; CF is set unless the operand was 0.
    func neg(_ op: Op) throws(GuestException) {
        let dst = try destination(op)
        let a = read(dst, op.size)
        let result = (0 &- a) & sizeMask(op.size)
        write(dst, op.size, result)
        setLazyFlags(.sub, 0, a, result, op.size)
    }

    /// NOT changes no flags.
    func not(_ op: Op) throws(GuestException) {
        let dst = try destination(op)
        write(dst, op.size, ~read(dst, op.size))
    }
}
