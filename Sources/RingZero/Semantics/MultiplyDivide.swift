// MUL, IMUL (one, two and three operands), DIV, IDIV (SDM Vol. 2).
//
// MUL/IMUL set CF and OF when the high half is significant; SF, ZF, AF and PF are undefined and
// RingZero leaves them unchanged. DIV/IDIV leave every flag unchanged (all are undefined) and
// raise #DE for a zero divisor or a quotient that does not fit.

extension Machine {
    /// The implicit accumulator pair for an operand size: AX for bytes, else rDX:rAX.
    private func accumulator(_ size: UInt8) -> (low: UInt64, high: UInt64) {
        if size == 1 { return (readGPR(0, 1), readGPR(0, 2) >> 8) }
        return (readGPR(0, size), readGPR(2, size))
    }

    private func setAccumulator(_ size: UInt8, low: UInt64, high: UInt64) {
        if size == 1 {
            writeGPR(0, 2, (low & 0xFF) | ((high & 0xFF) << 8))
        } else {
            writeGPR(0, size, low)
            writeGPR(2, size, high)
        }
    }

    func mul(_ op: UnsafePointer<Op>) throws(GuestException) {
        let src = try soleOperand(op)
        let a = accumulator(op.pointee.size).low
        let bits = UInt64(op.pointee.size) * 8
        let (high, low): (UInt64, UInt64)
        if op.pointee.size == 8 {
            (high, low) = a.multipliedFullWidth(by: src)
        } else {
            let product = a * src
            (high, low) = ((product >> bits) & sizeMask(op.pointee.size), product & sizeMask(op.pointee.size))
        }
        setAccumulator(op.pointee.size, low: low, high: high)
        setFlags(high != 0 ? RFLAGS.CF | RFLAGS.OF : 0, mask: RFLAGS.CF | RFLAGS.OF)
    }

    func imul1(_ op: UnsafePointer<Op>) throws(GuestException) {
        let src = Int64(bitPattern: signExtend(try soleOperand(op), from: op.pointee.size))
        let a = Int64(bitPattern: signExtend(accumulator(op.pointee.size).low, from: op.pointee.size))
        let bits = UInt64(op.pointee.size) * 8
        let (high, low): (UInt64, UInt64)
        let overflow: Bool
        if op.pointee.size == 8 {
            let (h, l) = a.multipliedFullWidth(by: src)
            (high, low) = (UInt64(bitPattern: h), l)
            overflow = h != (Int64(bitPattern: l) >> 63)
        } else {
            let product = a * src
            let p = UInt64(bitPattern: product)
            (high, low) = ((p >> bits) & sizeMask(op.pointee.size), p & sizeMask(op.pointee.size))
            overflow = signExtend(low, from: op.pointee.size) != p
        }
        setAccumulator(op.pointee.size, low: low, high: high)
        setFlags(overflow ? RFLAGS.CF | RFLAGS.OF : 0, mask: RFLAGS.CF | RFLAGS.OF)
    }

    /// dst := dst * src (truncated), signed overflow in CF/OF.
    func imul2(_ op: UnsafePointer<Op>) throws(GuestException) {
        let src = try readSource(op, size: op.pointee.size)
        try signedMultiply(op, readGPR(op.pointee.dstReg, op.pointee.size), src)
    }

    /// dst := src * imm.
    func imul3(_ op: UnsafePointer<Op>) throws(GuestException) {
        let src = try readSource(op, size: op.pointee.size)
        try signedMultiply(op, src, UInt64(bitPattern: op.pointee.imm) & sizeMask(op.pointee.size))
    }

    private func signedMultiply(_ op: UnsafePointer<Op>, _ x: UInt64, _ y: UInt64) throws(GuestException) {
        let a = Int64(bitPattern: signExtend(x, from: op.pointee.size))
        let b = Int64(bitPattern: signExtend(y, from: op.pointee.size))
        let (h, l) = a.multipliedFullWidth(by: b)
        let truncated = l & sizeMask(op.pointee.size)
        let exact = signExtend(truncated, from: op.pointee.size)
        let overflow = exact != l || h != (Int64(bitPattern: l) >> 63)
        writeGPR(op.pointee.dstReg, op.pointee.size, truncated)
        setFlags(overflow ? RFLAGS.CF | RFLAGS.OF : 0, mask: RFLAGS.CF | RFLAGS.OF)
    }

    func div(_ op: UnsafePointer<Op>) throws(GuestException) {
        let divisor = try soleOperand(op)
        guard divisor != 0 else { throw GuestException.de }
        let (low, high) = accumulator(op.pointee.size)
        let quotient: UInt64, remainder: UInt64
        if op.pointee.size == 8 {
            guard high < divisor else { throw GuestException.de }
            (quotient, remainder) = divisor.dividingFullWidth((high, low))
        } else {
            let bits = UInt64(op.pointee.size) * 8
            let dividend = (high << bits) | low
            quotient = dividend / divisor
            remainder = dividend % divisor
            guard quotient <= sizeMask(op.pointee.size) else { throw GuestException.de }
        }
        setAccumulator(op.pointee.size, low: quotient, high: remainder)
    }

    func idiv(_ op: UnsafePointer<Op>) throws(GuestException) {
        let divisor = Int64(bitPattern: signExtend(try soleOperand(op), from: op.pointee.size))
        guard divisor != 0 else { throw GuestException.de }
        let (low, high) = accumulator(op.pointee.size)
        let quotient: Int64, remainder: Int64
        if op.pointee.size == 8 {
            let dividendHigh = Int64(bitPattern: high)
            // The 128-bit quotient must fit in 64 signed bits; check with a wide division.
            let negative = (dividendHigh < 0) != (divisor < 0)
            let magnitudeHigh = dividendHigh < 0 ? ~high &+ (low == 0 ? 1 : 0) : high
            let magnitudeLow = dividendHigh < 0 ? ~low &+ 1 : low
            let d = divisor.magnitude
            guard magnitudeHigh < d else { throw GuestException.de }
            let (q, r) = d.dividingFullWidth((magnitudeHigh, magnitudeLow))
            if negative {
                guard q <= UInt64(Int64.max) + 1 else { throw GuestException.de }
                quotient = q == UInt64(Int64.max) + 1 ? Int64.min : -Int64(q)
            } else {
                guard q <= UInt64(Int64.max) else { throw GuestException.de }
                quotient = Int64(q)
            }
            remainder = dividendHigh < 0 ? -Int64(r) : Int64(r)
        } else {
            let bits = UInt64(op.pointee.size) * 8
            let shift = 64 - 2 * bits
            let dividend = (Int64(bitPattern: (high << bits) | low) << shift) >> shift
            // Int64.min / -1 (a 32-bit IDIV of 8000000000000000H by -1) overflows: #DE.
            let (q, overflow) = dividend.dividedReportingOverflow(by: divisor)
            guard !overflow else { throw GuestException.de }
            quotient = q
            remainder = dividend.remainderReportingOverflow(dividingBy: divisor).partialValue
            let limit = Int64(1) << (bits - 1)
            guard quotient >= -limit && quotient < limit else { throw GuestException.de }
        }
        setAccumulator(op.pointee.size, low: UInt64(bitPattern: quotient) & sizeMask(op.pointee.size), high: UInt64(bitPattern: remainder) & sizeMask(op.pointee.size))
    }

    /// One-operand forms keep their operand in the destination slot: its value, read as
    /// `readSource` reads a source.
    @inline(__always) private func soleOperand(_ op: UnsafePointer<Op>) throws(GuestException) -> UInt64 {
        switch op.pointee.dstKind {
        case .none: 0
        case .imm: UInt64(bitPattern: op.pointee.imm) & sizeMask(op.pointee.size)
        default: read(try destination(op), op.pointee.size)
        }
    }
}
