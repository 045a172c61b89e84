// How the arithmetic instructions set the six status flags (SDM Vol. 1 Appendix A and each
// instruction's "Flags Affected"): the formulas, from the operands and the result. Arithmetic
// instructions record their operands and these run only when a flag is read (LazyFlags.swift).

@inline(__always) func sizeMask(_ size: UInt8) -> UInt64 {
    size >= 8 ? .max : (1 << (UInt64(size) * 8)) - 1
}

@inline(__always) func signBit(_ size: UInt8) -> UInt64 {
    1 << (UInt64(size) * 8 - 1)
}

@inline(__always) func signExtend(_ value: UInt64, from size: UInt8) -> UInt64 {
    switch size {
    case 1: UInt64(bitPattern: Int64(Int8(truncatingIfNeeded: value)))
    case 2: UInt64(bitPattern: Int64(Int16(truncatingIfNeeded: value)))
    case 4: UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: value)))
    default: value
    }
}

enum StatusFlags {
    /// SF, ZF and PF of a result of `size` bytes. PF is the even parity of the low byte only.
    @inline(__always) static func szp(_ result: UInt64, _ size: UInt8) -> UInt64 {
        var f: UInt64 = 0
        if result & sizeMask(size) == 0 { f |= RFLAGS.ZF }
        if result & signBit(size) != 0 { f |= RFLAGS.SF }
        if UInt8(truncatingIfNeeded: result).nonzeroBitCount & 1 == 0 { f |= RFLAGS.PF }
        return f
    }

    /// ADD/ADC: result and all six flags.
    @inline(__always) static func add(_ a: UInt64, _ b: UInt64, carry: UInt64, _ size: UInt8) -> (UInt64, UInt64) {
        let mask = sizeMask(size)
        let result: UInt64
        let cf: Bool
        if size == 8 {
            let (r1, c1) = a.addingReportingOverflow(b)
            let (r2, c2) = r1.addingReportingOverflow(carry)
            result = r2
            cf = c1 || c2
        } else {
            let wide = (a & mask) + (b & mask) + carry
            result = wide & mask
            cf = wide > mask
        }
        var f = szp(result, size)
        if cf { f |= RFLAGS.CF }
        if (a ^ result) & (b ^ result) & signBit(size) != 0 { f |= RFLAGS.OF }
        if (a ^ b ^ result) & 0x10 != 0 { f |= RFLAGS.AF }
        return (result, f)
    }

    /// SUB/SBB/CMP/NEG: result and all six flags; CF is the borrow.
    @inline(__always) static func sub(_ a: UInt64, _ b: UInt64, borrow: UInt64, _ size: UInt8) -> (UInt64, UInt64) {
        let mask = sizeMask(size)
        let a = a & mask, b = b & mask
        let result: UInt64
        let cf: Bool
        if size == 8 {
            let (r1, c1) = a.subtractingReportingOverflow(b)
            let (r2, c2) = r1.subtractingReportingOverflow(borrow)
            result = r2
            cf = c1 || c2
        } else {
            result = (a &- b &- borrow) & mask
            cf = a < b + borrow
        }
        var f = szp(result, size)
        if cf { f |= RFLAGS.CF }
        if (a ^ b) & (a ^ result) & signBit(size) != 0 { f |= RFLAGS.OF }
        if (a ^ b ^ result) & 0x10 != 0 { f |= RFLAGS.AF }
        return (result, f)
    }

    /// AND/OR/XOR/TEST: CF and OF cleared; AF is undefined by the SDM and RingZero clears it.
    @inline(__always) static func logic(_ result: UInt64, _ size: UInt8) -> UInt64 {
        szp(result, size)
    }

    /// Whether condition code `cc` (the low nibble of Jcc/SETcc/CMOVcc) holds.
    @inline(__always) static func condition(_ cc: UInt8, _ flags: UInt64) -> Bool {
        let cf = flags & RFLAGS.CF != 0
        let zf = flags & RFLAGS.ZF != 0
        let sf = flags & RFLAGS.SF != 0
        let of = flags & RFLAGS.OF != 0
        let pf = flags & RFLAGS.PF != 0
        let holds: Bool
        switch cc >> 1 {
        case 0: holds = of
        case 1: holds = cf
        case 2: holds = zf
        case 3: holds = cf || zf
        case 4: holds = sf
        case 5: holds = pf
        case 6: holds = sf != of
        default: holds = zf || sf != of
        }
        return cc & 1 == 0 ? holds : !holds
    }
}
