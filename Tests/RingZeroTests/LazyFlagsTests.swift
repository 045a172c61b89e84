import Testing
@testable import RingZero

/// The status flags are recorded lazily and computed on demand. Whatever reads them (SETcc for
/// all sixteen conditions, ADC's carry-in, INC keeping CF, PUSHF, the final state) must see
/// exactly what eager computation (`StatusFlags`, checked against the SDM in IntegerFlagsTests)
/// gives, for every kind of pending record and operand size.
@Suite struct LazyFlagsTests {
    enum Kind: CaseIterable { case add, adc, sub, sbb, cmp, and, or, xor, test, inc, dec, neg }

    /// `kind rax, rbx` (or `kind rax` for INC/DEC/NEG) at an operand size.
    func encode(_ kind: Kind, size: UInt8) -> [UInt8] {
        let prefix: [UInt8] = size == 8 ? [0x48] : size == 2 ? [0x66] : []
        let byte = size == 1
        switch kind {
        case .inc: return prefix + [byte ? 0xFE : 0xFF, 0xC0]
        case .dec: return prefix + [byte ? 0xFE : 0xFF, 0xC8]
        case .neg: return prefix + [byte ? 0xF6 : 0xF7, 0xD8]
        default:
            let opcode: UInt8 = switch kind {
            case .add: 0x01
            case .adc: 0x11
            case .sub: 0x29
            case .sbb: 0x19
            case .cmp: 0x39
            case .and: 0x21
            case .or: 0x09
            case .xor: 0x31
            default: 0x85  // test
            }
            return prefix + [byte ? opcode - 1 : opcode, 0xD8]
        }
    }

    /// The six status flags eager computation gives.
    func expectedFlags(_ kind: Kind, _ a: UInt64, _ b: UInt64, carryIn: UInt64, size: UInt8) -> UInt64 {
        let a = a & sizeMask(size), b = b & sizeMask(size)
        switch kind {
        case .add: return StatusFlags.add(a, b, carry: 0, size).1
        case .adc: return StatusFlags.add(a, b, carry: carryIn, size).1
        case .sub, .cmp: return StatusFlags.sub(a, b, borrow: 0, size).1
        case .sbb: return StatusFlags.sub(a, b, borrow: carryIn, size).1
        case .and, .test: return StatusFlags.logic(a & b, size)
        case .or: return StatusFlags.logic(a | b, size)
        case .xor: return StatusFlags.logic(a ^ b, size)
        case .inc: return (StatusFlags.add(a, 1, carry: 0, size).1 & ~RFLAGS.CF) | carryIn
        case .dec: return (StatusFlags.sub(a, 1, borrow: 0, size).1 & ~RFLAGS.CF) | carryIn
        case .neg: return StatusFlags.sub(0, a, borrow: 0, size).1
        }
    }

    @Test func everyReaderSeesWhatEagerComputationGives() throws {
        let m = try makeMachine("90")
        let start = m.snapshot()
        var rng = SplitMix64(seed: 0x1A2F)
        // Operand values that hit the edges: zero, all ones, sign bits, and random ones.
        let interesting: [UInt64] = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000,
                                     0xFFFF_FFFF, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, .max]
        var checked = 0
        for round in 0..<120 {
            for kind in Kind.allCases {
                for size: UInt8 in [1, 2, 4, 8] {
                    let a = round < 14 ? interesting[round] : UInt64.random(in: 0 ... .max, using: &rng)
                    let b = round % 3 == 0 ? interesting[Int.random(in: 0..<interesting.count)] : UInt64.random(in: 0 ... .max, using: &rng)
                    let carryIn = UInt64(round & 1)
                    let flags = expectedFlags(kind, a, b, carryIn: carryIn, size: size)
                    let op = encode(kind, size: size)
                    func run(_ reader: [UInt8]) throws -> Machine {
                        try m.restore(start)
                        m.load(op + reader, at: 0x1000)
                        m.endAddress = 0x1000 + UInt64(op.count + reader.count)
                        m.state[.rax] = a
                        m.state[.rbx] = b
                        m.state.rflags = RFLAGS.reserved1 | carryIn
                        #expect(m.run().reason == .end)
                        return m
                    }
                    // SETcc CL for one condition per round (all sixteen across the rounds), and
                    // JZ/JNZ through SETZ/SETNZ every time (the fast path).
                    for cc in Set([UInt8(round % 16), 4, 5]) {
                        let r = try run([0x0F, 0x90 + cc, 0xC1])
                        let want = StatusFlags.condition(cc, flags)
                        #expect((r.state[.rcx] & 0xFF == 1) == want, "\(kind) size \(size) a=\(a) b=\(b) cc=\(cc)")
                        checked += 1
                    }
                    // ADC RDX, 0 reads CF without materializing the rest.
                    let adc = try run([0x48, 0x83, 0xD2, 0x00])
                    #expect(adc.state[.rdx] == flags & RFLAGS.CF, "ADC after \(kind) size \(size) a=\(a) b=\(b)")
                    // INC RSI keeps CF; the final state has every flag.
                    let inc = try run([0x48, 0xFF, 0xC6])
                    #expect(inc.state.rflags & RFLAGS.CF == flags & RFLAGS.CF)
                    let final = try run([])
                    #expect(final.state.rflags & RFLAGS.status == flags, "\(kind) size \(size) a=\(a) b=\(b)")
                    checked += 3
                }
            }
        }
        #expect(checked > 10_000)
    }
}
