// ADD, ADC, SUB, SBB, CMP, INC, DEC, NEG, and the logical AND, OR, XOR, TEST, NOT.

// The status flags are recorded lazily (LazyFlags.swift): each handler stores its operands and
// result, and the flags are computed only if something reads them.

extension Machine {
    /// Two-operand arithmetic: read both, compute the result, optionally write it back, record
    /// the flags.
    @inline(__always)
    private func arithmetic(_ op: UnsafePointer<Op>, writeBack: Bool, _ kind: LazyFlagsKind, carry: UInt64 = 0,
                            _ compute: (UInt64, UInt64) -> UInt64) throws(GuestException) {
        let src = try readSource(op, size: op.pointee.size)
        let dst = try destination(op)
        let a = read(dst, op.pointee.size)
        let result = compute(a, src) & sizeMask(op.pointee.size)
        if writeBack { write(dst, op.pointee.size, result) }
        setLazyFlags(kind, a, src, result, op.pointee.size, carry: carry)
    }

    @inline(__always) func add(_ op: UnsafePointer<Op>) throws(GuestException) {
        try arithmetic(op, writeBack: true, .add) { $0 &+ $1 }
    }

    func adc(_ op: UnsafePointer<Op>) throws(GuestException) {
        let c = carryFlag
        try arithmetic(op, writeBack: true, .add, carry: c) { $0 &+ $1 &+ c }
    }

    @inline(__always) func sub(_ op: UnsafePointer<Op>) throws(GuestException) {
        try arithmetic(op, writeBack: true, .sub) { $0 &- $1 }
    }

    func sbb(_ op: UnsafePointer<Op>) throws(GuestException) {
        let c = carryFlag
        try arithmetic(op, writeBack: true, .sub, carry: c) { $0 &- $1 &- c }
    }

    @inline(__always) func cmp(_ op: UnsafePointer<Op>) throws(GuestException) {
        try arithmetic(op, writeBack: false, .sub) { $0 &- $1 }
    }

    @inline(__always) func and(_ op: UnsafePointer<Op>) throws(GuestException) {
        try arithmetic(op, writeBack: true, .logic) { $0 & $1 }
    }

    @inline(__always) func or(_ op: UnsafePointer<Op>) throws(GuestException) {
        try arithmetic(op, writeBack: true, .logic) { $0 | $1 }
    }

    @inline(__always) func xor(_ op: UnsafePointer<Op>) throws(GuestException) {
        try arithmetic(op, writeBack: true, .logic) { $0 ^ $1 }
    }

    @inline(__always) func test(_ op: UnsafePointer<Op>) throws(GuestException) {
        try arithmetic(op, writeBack: false, .logic) { $0 & $1 }
    }

    /// INC and DEC leave CF unchanged: the pending record keeps it.
    @inline(__always) func inc(_ op: UnsafePointer<Op>) throws(GuestException) {
        let dst = try destination(op)
        let a = read(dst, op.pointee.size)
        let result = (a &+ 1) & sizeMask(op.pointee.size)
        let cf = carryFlag
        write(dst, op.pointee.size, result)
        setLazyFlags(.inc, a, 1, result, op.pointee.size, carry: cf)
    }

    @inline(__always) func dec(_ op: UnsafePointer<Op>) throws(GuestException) {
        let dst = try destination(op)
        let a = read(dst, op.pointee.size)
        let result = (a &- 1) & sizeMask(op.pointee.size)
        let cf = carryFlag
        write(dst, op.pointee.size, result)
        setLazyFlags(.dec, a, 1, result, op.pointee.size, carry: cf)
    }

    /// NEG: 0 - dst; CF is set unless the operand was 0.
    func neg(_ op: UnsafePointer<Op>) throws(GuestException) {
        let dst = try destination(op)
        let a = read(dst, op.pointee.size)
        let result = (0 &- a) & sizeMask(op.pointee.size)
        write(dst, op.pointee.size, result)
        setLazyFlags(.sub, 0, a, result, op.pointee.size)
    }

    /// NOT changes no flags.
    func not(_ op: UnsafePointer<Op>) throws(GuestException) {
        let dst = try destination(op)
        write(dst, op.pointee.size, ~read(dst, op.pointee.size))
    }
}
