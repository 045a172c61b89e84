import Testing
@testable import RingZero

/// `DirectDecoder` must give exactly the Op Capstone plus lowering gives, or decline.
@Suite struct DirectDecoderTests {
    let machine = try! Machine(profile: .i7_5600u)

    /// Both decoders on `code` placed at `address`: (Capstone's Op, the direct decoder's).
    func both(_ code: [UInt8], at address: UInt64 = 0x1000, mode: CodeMode, fastForms: Bool = false) -> (Op, Op?) {
        machine.memory.write(address, 8, 0)
        _ = machine.memory.load(code + [UInt8](repeating: 0x90, count: 16), at: address)
        let capstone = machine.decodeOne(at: address, mode: mode, fastForms: fastForms)
        let available = min(15, code.count)
        let direct = code.withUnsafeBufferPointer {
            DirectDecoder.decode($0.baseAddress!, available: available, address: address, mode: mode,
                                 costs: machine.costs, fastForms: fastForms)
        }
        return (capstone, direct)
    }

    func describe(_ code: [UInt8], _ mode: CodeMode) -> String {
        "\(code.map { String($0, radix: 16) }.joined(separator: " ")) in \(mode)"
    }

    /// The fields where two Ops differ, "name: a vs b", for short failure messages.
    func difference(_ a: Op, _ b: Op?) -> String {
        guard let b else { return "declined" }
        let x = Mirror(reflecting: a).children, y = Mirror(reflecting: b).children
        return zip(x, y).filter { "\($0.value)" != "\($1.value)" }.map { "\($0.label ?? "?"): \($0.value) vs \($1.value)" }
            .joined(separator: ", ")
    }

    /// Every form the direct decoder covers, in every mode, with each register and assorted
    /// immediates: the direct decoder must take it (so the test cannot pass by declining
    /// everything) and agree with Capstone field for field.
    @Test func everyCoveredFormMatchesCapstone() {
        var checked = 0
        for mode in CodeMode.allCases {
            let prefixes: [[UInt8]] = mode == .bits64 ? [[], [0x48], [0x49], [0x4C], [0x4D], [0x66], [0x41]] : [[], [0x66]]
            for prefix in prefixes {
                for r in UInt8(0)..<8 {
                    for s in [UInt8(0), 3, 7] {
                        var forms: [[UInt8]] = []
                        for opcode: UInt8 in [0x00, 0x01, 0x08, 0x09, 0x10, 0x11, 0x18, 0x19, 0x20, 0x21, 0x28, 0x29, 0x30, 0x31,
                                              0x38, 0x39, 0x84, 0x85, 0x88, 0x89] {
                            forms.append([opcode, 0xC0 | s << 3 | r])
                            forms.append([opcode, 0xC0 | r << 3 | s])
                        }
                        for ext: UInt8 in [0, 1, 4, 5, 7] { forms.append([0xD2, 0xC0 | ext << 3 | r]); forms.append([0xD3, 0xC0 | ext << 3 | r]) }
                        for ext: UInt8 in [2, 3] { forms.append([0xF6, 0xC0 | ext << 3 | r]); forms.append([0xF7, 0xC0 | ext << 3 | r]) }
                        forms.append([0xFE, 0xC0 | r])
                        forms.append([0xFE, 0xC8 | r])
                        for ext: UInt8 in [0, 1, 4, 5, 6, 7] { forms.append([0x83, 0xC0 | ext << 3 | r, s == 0 ? 0x7F : (s == 3 ? 0x80 : 0xFF)]) }
                        for ext: UInt8 in [0, 1, 4, 5, 7] { forms.append([0xC1, 0xC0 | ext << 3 | r, s * 9]) }
                        forms.append([0xFF, 0xC0 | r])
                        forms.append([0xFF, 0xC8 | r])
                        forms.append([0x0F, 0xAF, 0xC0 | s << 3 | r])
                        forms.append([0xB8 + r, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x81])
                        forms.append([0x70 + s + r, s == 3 ? 0x80 : 0x05])
                        for form in forms {
                            let code = prefix + form
                            let (capstone, direct) = both(code, mode: mode)
                            // 66h Jcc is left to Capstone; every other form here is covered.
                            if direct == nil && prefix == [0x66] && form[0] & 0xF0 == 0x70 { continue }
                            #expect(direct == capstone, "\(describe(code, mode)): \(difference(capstone, direct))")
                            let (fastCapstone, fastDirect) = both(code, mode: mode, fastForms: true)
                            #expect(fastDirect == fastCapstone, "\(describe(code, mode)) with fast forms: \(difference(fastCapstone, fastDirect))")
                            checked += 1
                        }
                    }
                }
            }
            // No REX.W on PUSH/POP, nor 66h on Jcc: those are declined.
            for r in UInt8(0)..<8 {
                for code in [[0x50 + r], [0x58 + r]] + (mode == .bits64 ? [[0x41, 0x50 + r], [0x66, 0x58 + r]] : [[0x66, 0x50 + r]]) {
                    let (capstone, direct) = both(code, mode: mode)
                    #expect(direct == capstone, "\(describe(code, mode)): \(difference(capstone, direct))")
                    checked += 1
                }
            }
            var privileged: [[UInt8]] = [[0x0F, 0x06], [0x0F, 0x30], [0x0F, 0x31], [0x0F, 0x32], [0x0F, 0x37], [0x0F, 0xA2],
                                         [0x0F, 0x01, 0xC4], [0xF4], [0x0F, 0x01, 0xF0], [0x0F, 0x01, 0xF2]]
            for cr: UInt8 in [0, 2, 3, 4] {
                for r: UInt8 in [0, 5] {
                    privileged.append([0x0F, 0x22, 0xC0 | cr << 3 | r])
                    privileged.append([0x0F, 0x20, 0xC0 | cr << 3 | r])
                }
            }
            switch mode {
            case .bits64:
                privileged += [[0x44, 0x0F, 0x22, 0xC0], [0x44, 0x0F, 0x20, 0xC3], [0x41, 0x0F, 0x22, 0xE1], [0x41, 0x0F, 0x01, 0xF3]]
                privileged += [[0xF3, 0x0F, 0xC7, 0x34, 0x25, 0x00, 0x20, 0x00, 0x00], [0xF3, 0x0F, 0xC7, 0x34, 0x25, 0xF0, 0xFF, 0xFF, 0xFF]]
            case .bits32:
                privileged += [[0xF3, 0x0F, 0xC7, 0x35, 0x08, 0x20, 0x00, 0x00], [0xF3, 0x0F, 0xC7, 0x35, 0x00, 0x00, 0x00, 0x80]]
            case .bits16:
                privileged += [[0xF3, 0x0F, 0xC7, 0x36, 0x10, 0x20], [0xF3, 0x0F, 0xC7, 0x36, 0xF0, 0xFF]]
            }
            for code in privileged {
                let (capstone, direct) = both(code, mode: mode)
                #expect(direct != nil, "not covered: \(describe(code, mode))")
                #expect(direct == capstone, "\(describe(code, mode)): \(difference(capstone, direct))")
                checked += 1
            }
        }
        #expect(checked > 3000)
    }

    /// Memory operands of the ALU forms: every ModRM and SIB byte, with displacements, in every
    /// mode.
    @Test func memoryOperandsMatchCapstone() {
        var random = SplitMix64(seed: 0xADD2E55)
        var checked = 0
        for mode in CodeMode.allCases {
            let prefixes: [[UInt8]] = mode == .bits64 ? [[], [0x48], [0x41], [0x44], [0x4D]] : [[], [0x66]]
            for prefix in prefixes {
                for modrm in 0..<0xC0 {
                    let sib = UInt8(truncatingIfNeeded: random.next())
                    let disp = (0..<4).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                    for opcode: UInt8 in [0x00, 0x01, 0x31, 0x88, 0x89] {
                        let code = prefix + [opcode, UInt8(modrm), sib] + disp
                        let (capstone, direct) = both(code, mode: mode)
                        #expect(direct == capstone, "\(describe(code, mode)): \(difference(capstone, direct))")
                        checked += 1
                    }
                }
            }
        }
        #expect(checked > 8000)
    }

    /// Jcc targets wrap at the code size, as Capstone computes them.
    @Test func branchTargetsWrapLikeCapstone() {
        for mode in CodeMode.allCases {
            for address: UInt64 in [0x1000, 0xFFF0, 0xFFFF_FFF0] where address < machine.memory.size || mode != .bits64 {
                guard address + 32 < machine.memory.size else { continue }
                for rel: UInt8 in [0x00, 0x7F, 0x80, 0xFE] {
                    let (capstone, direct) = both([0x75, rel], at: address, mode: mode)
                    #expect(direct == capstone, "jnz \(rel) at \(address) in \(mode): \(difference(capstone, direct))")
                }
            }
        }
    }

    /// Random bytes shaped like the covered forms (and their near misses): whenever the direct
    /// decoder takes them, Capstone must give the same Op.
    @Test func randomBytesNeverDisagreeWithCapstone() {
        var random = SplitMix64(seed: 0xD1EC7)
        let leads: [UInt8] = [0x66, 0xF3, 0xF2, 0xF0, 0x67, 0x2E, 0x40, 0x41, 0x44, 0x48, 0x49, 0x4A, 0x4C, 0x4F]
        let opcodes: [UInt8] = [0x00, 0x01, 0x09, 0x10, 0x11, 0x18, 0x21, 0x28, 0x29, 0x31, 0x38, 0x39, 0x84, 0x85, 0x88, 0x89,
                                0x83, 0xC1, 0xD2, 0xD3, 0xF6, 0xF7, 0xFE, 0xFF, 0xB8, 0xBC, 0x50, 0x5F,
                                0x70, 0x7F, 0xF4, 0x0F, 0x0F, 0x0F, 0x03, 0x8B]
        let second: [UInt8] = [0x20, 0x22, 0xAF, 0x01, 0x06, 0x30, 0x31, 0x32, 0x37, 0xA2, 0xC7, 0x05]
        var taken = 0
        for n in 0..<60_000 {
            var code: [UInt8] = []
            let prefixCount = Int(random.next() % 3)
            for _ in 0..<prefixCount { code.append(leads[Int(random.next() % UInt64(leads.count))]) }
            code.append(opcodes[Int(random.next() % UInt64(opcodes.count))])
            if code.last == 0x0F { code.append(second[Int(random.next() % UInt64(second.count))]) }
            for _ in 0..<10 { code.append(UInt8(truncatingIfNeeded: random.next() >> 8)) }
            if n % 3 == 0, let m = code.firstIndex(where: { [0x0F, 0x83, 0xFF, 0xD2, 0xD3, 0xF6, 0xF7, 0xFE].contains($0) }), m + 2 < code.count {
                code[m + (code[m] == 0x0F ? 2 : 1)] |= 0xC0  // register forms, most of the time
            }
            let mode = CodeMode.allCases[Int(random.next() % 3)]
            let (capstone, direct) = both(code, mode: mode)
            if let direct {
                taken += 1
                #expect(direct == capstone, "\(describe(code, mode)): \(difference(capstone, direct))")
            }
        }
        #expect(taken > 5000)
    }

    /// A machine with direct decoding gives the same run as one without.
    @Test func aRunIsTheSameWithDirectDecoding() throws {
        let code = "48 b8 33 00 05 80 00 00 00 00 0f 22 c0 b9 3a 00 00 00 0f 32 48 01 d8 48 83 e8 05 0f 20 e1 f3 0f c7 34 25 00 20 00 00 f4"
        let (plain, a) = try run(code)
        let (direct, b) = try run(code) { $0.decodesCommonFormsDirectly = true }
        #expect(a.reason == b.reason && a.rip == b.rip && a.faults.count == b.faults.count)
        #expect(plain.state == direct.state && plain.cycleCount == direct.cycleCount && plain.instructionCount == direct.instructionCount)
        #expect(Report(machine: plain, outcome: a).json == Report(machine: direct, outcome: b).json)
    }
}
