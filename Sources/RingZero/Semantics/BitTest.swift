// BT, BTS, BTR, BTC (SDM Vol. 2). CF receives the selected bit; OF, SF, AF and PF are undefined
// and RingZero leaves them unchanged, as it does ZF, which the SDM says is unaffected.
//
// A register bit offset into a memory operand addresses a bit string: the byte at
// address + (offset >> 3), with the offset taken as signed. An immediate offset is taken modulo
// the operand width.

extension Machine {
    private enum BitAction { case test, set, reset, complement }

    private func bitOperation(_ op: UnsafePointer<Op>, _ action: BitAction) throws(GuestException) {
        let bits = UInt64(op.pointee.size) * 8
        let rawOffset = try readSource(op, size: op.pointee.size)
        let location: Location
        let bit: UInt64
        let width: UInt8
        if op.pointee.dstKind == .mem && op.pointee.srcKind != .imm {
            let offset = Int64(bitPattern: signExtend(rawOffset, from: op.pointee.size))
            location = .memory(try linearAddress(op) &+ UInt64(bitPattern: offset >> 3))
            bit = UInt64(offset & 7)
            width = 1
        } else {
            location = try destination(op)
            bit = rawOffset % bits
            width = op.pointee.size
        }
        let value = read(location, width)
        let old = (value >> bit) & 1
        setFlags(old == 1 ? RFLAGS.CF : 0, mask: RFLAGS.CF)
        switch action {
        case .test: return
        case .set: write(location, width, value | (1 << bit))
        case .reset: write(location, width, value & ~(1 << bit))
        case .complement: write(location, width, value ^ (1 << bit))
        }
    }

    func bt(_ op: UnsafePointer<Op>) throws(GuestException) { try bitOperation(op, .test) }
    func bts(_ op: UnsafePointer<Op>) throws(GuestException) { try bitOperation(op, .set) }
    func btr(_ op: UnsafePointer<Op>) throws(GuestException) { try bitOperation(op, .reset) }
    func btc(_ op: UnsafePointer<Op>) throws(GuestException) { try bitOperation(op, .complement) }
}
