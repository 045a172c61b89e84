// SHL/SAL, SHR, SAR, ROL, ROR (SDM Vol. 2 "SAL/SAR/SHL/SHR" and "RCL/RCR/ROL/ROR").
//
// The count is masked to 5 bits (6 with a 64-bit operand); a masked count of 0 changes nothing,
// flags included. Where the SDM leaves a flag undefined RingZero computes it as follows (see
// docs/semantics-notes.md): OF for counts above 1 uses the count-1 formula; AF is cleared by
// shifts with a non-zero count; CF of SHL/SHR is the last bit shifted out of the operand as if it
// were wider: for a count equal to the width that is the operand's end bit, above it 0.

extension Machine {
    @inline(__always) private func shiftCount(_ op: UnsafePointer<Op>) throws(GuestException) -> UInt64 {
        let raw = try readSource(op, size: 1)
        return raw & (op.pointee.size == 8 ? 0x3F : 0x1F)
    }

    func shl(_ op: UnsafePointer<Op>) throws(GuestException) {
        let count = try shiftCount(op)
        let dst = try destination(op)
        guard count != 0 else { return }
        let bits = UInt64(op.pointee.size) * 8
        let value = read(dst, op.pointee.size)
        let result = count >= 64 ? 0 : (value << count) & sizeMask(op.pointee.size)
        let cf = count <= bits ? (value >> (bits - count)) & 1 == 1 : false
        var flags = StatusFlags.szp(result, op.pointee.size)
        if cf { flags |= RFLAGS.CF }
        if (result & signBit(op.pointee.size) != 0) != cf { flags |= RFLAGS.OF }
        write(dst, op.pointee.size, result)
        setStatusFlags(flags)
    }

    func shr(_ op: UnsafePointer<Op>) throws(GuestException) {
        let count = try shiftCount(op)
        let dst = try destination(op)
        guard count != 0 else { return }
        let value = read(dst, op.pointee.size)
        let result = count >= 64 ? 0 : value >> count
        let cf = count <= 64 ? (value >> (count - 1)) & 1 == 1 : false
        var flags = StatusFlags.szp(result, op.pointee.size)
        if cf { flags |= RFLAGS.CF }
        // OF is the original operand's most significant bit.
        if value & signBit(op.pointee.size) != 0 { flags |= RFLAGS.OF }
        write(dst, op.pointee.size, result)
        setStatusFlags(flags)
    }

    func sar(_ op: UnsafePointer<Op>) throws(GuestException) {
        let count = try shiftCount(op)
        let dst = try destination(op)
        guard count != 0 else { return }
        let value = read(dst, op.pointee.size)
        let signed = Int64(bitPattern: signExtend(value, from: op.pointee.size))
        let shifted = signed >> Int64(min(count, 63))
        let result = UInt64(bitPattern: shifted) & sizeMask(op.pointee.size)
        let cf = (signed >> Int64(min(count - 1, 63))) & 1 == 1
        var flags = StatusFlags.szp(result, op.pointee.size)
        if cf { flags |= RFLAGS.CF }
        write(dst, op.pointee.size, result)
        setStatusFlags(flags)
    }

    /// Rotates change only CF and OF.
    func rol(_ op: UnsafePointer<Op>) throws(GuestException) {
        let count = try shiftCount(op)
        let dst = try destination(op)
        guard count != 0 else { return }
        let bits = UInt64(op.pointee.size) * 8
        let value = read(dst, op.pointee.size)
        let r = count % bits
        let result = r == 0 ? value : ((value << r) | (value >> (bits - r))) & sizeMask(op.pointee.size)
        let cf = result & 1 == 1
        var flags: UInt64 = cf ? RFLAGS.CF : 0
        if (result & signBit(op.pointee.size) != 0) != cf { flags |= RFLAGS.OF }
        write(dst, op.pointee.size, result)
        setFlags(flags, mask: RFLAGS.CF | RFLAGS.OF)
    }

    func ror(_ op: UnsafePointer<Op>) throws(GuestException) {
        let count = try shiftCount(op)
        let dst = try destination(op)
        guard count != 0 else { return }
        let bits = UInt64(op.pointee.size) * 8
        let value = read(dst, op.pointee.size)
        let r = count % bits
        let result = r == 0 ? value : ((value >> r) | (value << (bits - r))) & sizeMask(op.pointee.size)
        let msb = result & signBit(op.pointee.size) != 0
        let next = result & (signBit(op.pointee.size) >> 1) != 0
        var flags: UInt64 = msb ? RFLAGS.CF : 0
        if msb != next { flags |= RFLAGS.OF }
        write(dst, op.pointee.size, result)
        setFlags(flags, mask: RFLAGS.CF | RFLAGS.OF)
    }
}
