import Testing
@testable import RingZero

/// Random bytes in every mode: each run must end with a stop reason, never a Swift trap, and the
/// fast path and the reference path must agree on it.
@Suite struct RobustnessTests {
    @Test(arguments: [OperatingMode.real, .protected, .v8086, .compat, .long])
    func randomBlobsEndCleanly(_ mode: OperatingMode) throws {
        // Seeded from the mode's name: `hashValue` differs from process to process.
        var rng = SplitMix64(seed: mode.rawValue.utf8.reduce(0x5EED_0000) { $0 &* 31 &+ UInt64($1) })
        for _ in 0..<150 {
            let blob = (0..<48).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let hex = blob.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
            let options = RunOptions(maxInstructions: 500, onFault: .continue)
            let (fast, a) = try run(hex, mode: mode, options: options)
            var reference = options
            reference.referencePath = true
            let (slow, b) = try run(hex, mode: mode, options: reference)
            #expect(StopReason.allCases.contains(a.reason))
            #expect(a == b, "blob \(hex) in \(mode)")
            #expect(fast.state == slow.state, "blob \(hex) in \(mode)")
        }
    }

    /// Valid integer sequences (the cold benchmark's generator) closed into a counted loop:
    /// register-only ALU, MOV, INC/DEC and Jcc run on the fast forms on the fast path and on the
    /// generic handlers on the reference path, so every report field must agree, counters and
    /// per-form breakdown included.
    @Test func fastFormsAgreeWithTheGenericHandlers() throws {
        var generator = SequenceGenerator(seed: 0xF00D)
        for round in 0..<150 {
            // mov r9d, 7 (loop counter); body; dec r9; jnz body; cmp/test + jcc variety; hlt
            let body = generator.sequence(length: 12).dropLast()
            let jcc: [UInt8] = [0x49, 0xFF, 0xC9, 0x75, UInt8(truncatingIfNeeded: -(body.count + 5))]
            let tail: [UInt8] = [0x48, 0x39, 0xD8, 0x70 + UInt8(round % 16), 0x01, 0x90,  // cmp rax, rbx; jcc +1; nop
                                 0x85, 0xC9, 0x70 + UInt8((round / 16) % 16), 0x00,         // test ecx, ecx; jcc +0
                                 0xF4]
            let code = [0x41, 0xB9, 0x07, 0x00, 0x00, 0x00] + Array(body) + jcc + tail
            let hex = code.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
            let state = #"{"registers": {"rax": "0x\#(String(round &* 0x9E3779B9, radix: 16))", "rbx": "0x\#(String(round, radix: 16))", "rflags": "0x\#(String(2 | (round & 0x8D5), radix: 16))"}}"#
            let fast = try makeMachine(hex, state: state)
            let a = Report(machine: fast, outcome: fast.run(RunOptions(maxInstructions: 10_000))).json
            let slow = try makeMachine(hex, state: state)
            let b = Report(machine: slow, outcome: slow.run(RunOptions(maxInstructions: 10_000, referencePath: true))).json
            #expect(a == b, "round \(round): \(hex)")
        }
    }

    /// Loops made of fast forms only: the threaded loop counts whole blocks at once and runs a
    /// block that loops to itself from its closing Jcc; its reports (counters by form, not-taken
    /// branches included) and its stops at an instruction or cycle limit falling anywhere in
    /// the loop must match the reference path.
    @Test func fastFormLoopsAgreeWithTheReferencePath() throws {
        var random = SplitMix64(seed: 0xA11F)
        func register() -> UInt8 { [0, 2, 3, 5, 6, 7][Int(random.next() % 6)] }  // not RCX (the counter) nor RSP
        for round in 0..<120 {
            var body: [UInt8] = []
            for _ in 0..<(1 + Int(random.next() % 8)) {
                let a = register(), b = register()
                let rex: [UInt8] = random.next() % 2 == 0 ? [0x48] : []
                switch random.next() % 6 {
                case 0: body += rex + [[0x01, 0x29, 0x21, 0x09, 0x31, 0x39, 0x85, 0x89][Int(random.next() % 8)], 0xC0 | b << 3 | a]
                case 1: body += rex + [0x83, 0xC0 | UInt8(random.next() % 8) << 3 | a, UInt8(truncatingIfNeeded: random.next())]
                case 2: body += rex + [0xFF, (random.next() % 2 == 0 ? 0xC0 : 0xC8) | a]
                case 3: body += [0xB8 + a] + (0..<4).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                case 4: body += [0x70 | UInt8(random.next() % 16), 0x00]  // Jcc to the next instruction
                default: body += rex + [0x89, 0xC0 | b << 3 | a]
                }
            }
            // mov ecx, n; loop: body; <closing>; hlt. The closings cover each fast form that
            // runs its block's Jcc itself (`ThreadedIndex`), at both widths, with JNZ and with
            // conditions that are not ZF's.
            let n = UInt8(3 + random.next() % 20)
            let closings: [[UInt8]] = [
                [0x48, 0xFF, 0xC9, 0x75],                    // dec rcx; jnz
                [0xFF, 0xC9, 0x75],                          // dec ecx; jnz
                [0x48, 0x83, 0xE9, 0x01, 0x75],              // sub rcx, 1; jnz
                [0x83, 0xE9, 0x01, 0x0F, 0x85],              // sub ecx, 1; jnz (rel32)
                [0xFF, 0xC9, 0x85, 0xC9, 0x75],              // dec ecx; test ecx, ecx; jnz
                [0x48, 0xFF, 0xC9, 0x48, 0x83, 0xF9, 0x00, 0x75],  // dec rcx; cmp rcx, 0; jne
                [0xFF, 0xC9, 0x83, 0xF9, 0x01, 0x73],        // dec ecx; cmp ecx, 1; jae
                [0x48, 0xFF, 0xC9, 0x4C, 0x39, 0xC1, 0x77],  // dec rcx; cmp rcx, r8 (0: the body never names it); ja
            ]
            let closing = closings[Int(random.next() % UInt64(closings.count))]
            let rel32 = closing.last == 0x85
            let loopLength = body.count + closing.count + (rel32 ? 4 : 1)
            let displacement = rel32 ? withUnsafeBytes(of: Int32(-loopLength).littleEndian) { Array($0) }
                                     : [UInt8(truncatingIfNeeded: -loopLength)]
            let code = [0xB9, n, 0, 0, 0] + body + closing + displacement + [0xF4]
            let hex = code.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
            let state = #"{"registers": {"rax": "0x\#(String(random.next(), radix: 16))", "rbx": "0x\#(String(random.next() >> 1, radix: 16))", "rflags": "0x\#(String(2 | (random.next() & 0x8D5), radix: 16))"}}"#
            // No limit, an instruction limit and a cycle limit somewhere inside the loop.
            for limits in [RunOptions(maxInstructions: 100_000), RunOptions(maxInstructions: 7 + random.next() % 60),
                           RunOptions(maxInstructions: 100_000, maxCycles: 9 + random.next() % 80)] {
                let fast = try makeMachine(hex, state: state)
                let a = Report(machine: fast, outcome: fast.run(limits)).json
                var reference = limits
                reference.referencePath = true
                let slow = try makeMachine(hex, state: state)
                let b = Report(machine: slow, outcome: slow.run(reference)).json
                #expect(a == b, "round \(round): \(hex) with \(limits)")
            }
        }
    }

    /// Fresh code decoded, run and dropped over and over while a block elsewhere stays cached
    /// (the fuzzer's pattern): the Op arena is emptied when it is mostly dropped Ops instead of
    /// growing, and the block that stayed still runs right.
    @Test func theOpArenaDoesNotGrowWithCodeThatIsDroppedAgainAndAgain() throws {
        // At 0x5000, kept: add rbx, 1; ret.
        let m = try makeMachine("90")
        m.load(bytes("48 83 c3 01 c3"), at: 0x5000)
        m.endAddress = nil
        let start = m.snapshot()
        var random = SplitMix64(seed: 11)
        for i in 0..<3000 {
            try m.restore(start)
            // mov rax, imm32 (fresh each time); call 0x5000; hlt
            let imm = UInt32(truncatingIfNeeded: random.next())
            var code: [UInt8] = [0x48, 0xC7, 0xC0]
            code += withUnsafeBytes(of: imm.littleEndian) { Array($0) }
            code += [0xE8, 0xF4, 0x3F, 0x00, 0x00, 0xF4]
            m.load(code, at: 0x1000)
            m.state.rip = 0x1000
            m.state[.rsp] = 0x8000
            let o = m.run()
            // MOV r64, imm32 sign-extends.
            #expect(o.reason == .hlt && m.state[.rax] == UInt64(bitPattern: Int64(Int32(bitPattern: imm))) && m.state[.rbx] == 1,
                    "iteration \(i)")
            #expect(m.cache.count <= OpCache.garbageCheck + OpCache.maxBlockLength, "iteration \(i)")
        }
    }

    /// A working set of full-length blocks larger than the garbage check's threshold stays
    /// decoded from one pass to the next: the arena is emptied only when it is mostly dropped
    /// Ops, and a live block's end marker is no dropped Op.
    @Test func aWorkingSetOfFullBlocksIsNotDecodedAgain() throws {
        // 0x1000: mov ecx, 5; jmp 0x2000. 0x2000, page-aligned so that every block of the
        // loop is full-length: loop: 80 x 64 x inc eax; dec ecx; jnz loop; hlt
        let blocks = 80, incs = 80 * OpCache.maxBlockLength
        var code = bytes("b9 05 00 00 00 e9") + withUnsafeBytes(of: Int32(0x2000 - 0x100A).littleEndian) { Array($0) }
        code += [UInt8](repeating: 0xCC, count: 0x1000 - code.count)
        code += Array([[UInt8]](repeating: [0xFF, 0xC0], count: incs).joined())
        code += [0xFF, 0xC9, 0x0F, 0x85] + withUnsafeBytes(of: Int32(-(incs * 2 + 8)).littleEndian) { Array($0) } + [0xF4]
        let m = try makeMachine(code.map { String(format: "%02x", $0) }.joined())
        // One pass, to the loop's JNZ.
        #expect(m.run(RunOptions(maxInstructions: UInt64(2 + incs + 2))).reason == .instructionLimit)
        let decoded = m.cache.count
        #expect(decoded >= blocks * (OpCache.maxBlockLength + 1), "\(decoded) Ops after one pass")
        let o = m.run()
        #expect(o.reason == .hlt && m.state[.rax] == UInt64(5 * incs))
        // Four more passes decoded nothing: only the loop's exit (the HLT) is new.
        #expect(m.cache.count <= decoded + 2, "the arena went from \(decoded) to \(m.cache.count) Ops")
    }

    /// An exception in the middle of a block under `--on-fault continue`: the rest of the block
    /// is cached as a block of its own and run again on every later iteration; reports, counters
    /// and the stop at an instruction limit anywhere must match the reference path.
    @Test func theRestOfABlockAfterAnExceptionRunsAsTheReferencePath() throws {
        // mov ecx, 6; loop: push rcx; mov ecx, 0x1234; wrmsr (#GP: no such MSR); pop rcx; inc rbx;
        //       mov rax, cr4; vmxoff (#UD outside VMX operation); add rdx, rbx; dec rcx; jnz loop; hlt
        let code = "b9 06 00 00 00 51 b9 34 12 00 00 0f 30 59 48 ff c3 0f 20 e0 0f 01 c4 48 01 da 48 ff c9 75 e6 f4"
        for limit: UInt64 in [10_000, 9, 23, 40, 57] {
            let options = RunOptions(maxInstructions: limit, onFault: .continue)
            let (fast, a) = try run(code, options: options)
            var reference = options
            reference.referencePath = true
            let (slow, b) = try run(code, options: reference)
            #expect(Report(machine: fast, outcome: a).json == Report(machine: slow, outcome: b).json, "limit \(limit)")
            if limit == 10_000 {
                #expect(a.reason == .hlt && a.faults.count == 12 && fast.state[.rbx] == 6)
            }
        }
    }

    /// A fast INC or DEC keeps CF (SDM Vol. 2 "INC", "DEC"), and in a cached block takes it
    /// from where the block's decoding said the last CF came from (`CarryHint`). Each case
    /// ends `setc bl` (0f 92 c3) right after the INC or DEC, inside a loop of three turns
    /// counted in EBP, so the threaded handlers run it; BL must be the expected CF, and the
    /// whole report must match the reference path's. The cases without a REX prefix run in
    /// 32-bit protected mode as well.
    @Test func incAndDecKeepTheCarryTheirBlockLeftThem() throws {
        // (what comes before the INC/DEC, the INC/DEC, CF expected after it); ESI = 2 (1 where
        // the case says ESI 1), EBP counts the turns.
        let cases: [(String, String, String, UInt8)] = [
            ("a fast SUB that borrows", "b8 01 00 00 00 83 e8 02", "ff ca", 1),          // mov eax, 1; sub eax, 2; dec edx
            ("a fast SUB that does not", "b8 03 00 00 00 83 e8 02", "ff ca", 0),
            ("a fast SUB to zero", "b8 02 00 00 00 83 e8 02", "ff ca", 0),
            ("a fast ADD that does not carry", "48 c7 c0 fe ff ff ff 48 83 c0 01", "48 ff ca", 0),
            ("a fast ADD to zero", "48 c7 c0 ff ff ff ff 48 83 c0 01 48 83 c0 00", "48 ff ca", 0),
            ("a 64-bit CMP that borrows", "48 c7 c0 01 00 00 00 48 39 f0", "48 ff c2", 1), // cmp rax, rsi (rsi = 2); inc rdx
            ("a fast ADD that carries", "48 c7 c0 ff ff ff ff 48 83 c0 01", "48 ff ca", 1), // mov rax, -1; add rax, 1
            ("a 32-bit ADD that carries (ESI 1)", "b8 ff ff ff ff 01 f0", "ff c2", 1),    // add eax, esi
            ("a fast XOR after STC", "f9 31 c0", "ff ca", 0),                               // stc; xor eax, eax
            ("another INC or DEC", "b8 01 00 00 00 83 e8 02 ff c7", "ff ca", 1),          // sub (CF=1); inc edi; dec edx
            ("CLC after a borrow", "b8 01 00 00 00 83 e8 02 f8", "ff ca", 0),              // CLC is no fast form
            ("STC after a fast XOR", "31 c0 f9", "ff ca", 1),
            ("MOV from CR4 and CLTS after a borrow", "b8 01 00 00 00 83 e8 02 0f 20 e0 0f 06", "ff ca", 1),
            // mov edi, 1; sub edi, 2; mov rax, cr4; mov cr4, rax (the value it had)
            ("MOV to CR4 after a borrow", "bf 01 00 00 00 83 ef 02 0f 20 e0 0f 22 e0", "ff ca", 1),
            // mov edi, 1; sub edi, 2; mov rax, cr0; lmsw ax (the bits it had)
            ("LMSW after a borrow", "bf 01 00 00 00 83 ef 02 0f 20 c0 0f 01 f0", "ff ca", 1),
            // mov edi, 1; sub edi, 2; mov ecx, 0x174; rdmsr (IA32_SYSENTER_CS, the pair's shortcut)
            ("a RDMSR after a borrow", "bf 01 00 00 00 83 ef 02 b9 74 01 00 00 0f 32", "ff ca", 1),
            // ...; inc esi: the kept CF across RDMSR
            ("a RDMSR after a kept CF", "bf 01 00 00 00 83 ef 02 ff c6 b9 74 01 00 00 0f 32", "ff ca", 1),
            // A WRMSR that faults (no MSR 0x1234) under continue: the rest of the block runs on,
            // and the CF before the WRMSR is still the CF.
            ("a faulting WRMSR after a borrow", "b8 01 00 00 00 83 e8 02 b9 34 12 00 00 0f 30", "ff ca", 1),
            ("a faulting WRMSR after an ADD (ESI 1)", "b8 ff ff ff ff 01 f0 b9 34 12 00 00 0f 30", "ff c2", 1),
            ("a faulting WRMSR after a SUB that does not borrow", "b8 03 00 00 00 83 e8 02 b9 34 12 00 00 0f 30", "ff ca", 0),
            // VMXON and VMXOFF with CR4.VMXE clear, #UD (`CarryHint.vmStatus`: not VMsucceed's
            // flags, but those from before them).
            ("a faulting VMXON after a borrow", "b8 01 00 00 00 83 e8 02 f3 0f c7 30", "ff ca", 1),
            ("a faulting VMXOFF after a borrow", "b8 01 00 00 00 83 e8 02 0f 01 c4", "ff ca", 1),
            ("a faulting VMXOFF after a SUB that does not borrow", "b8 03 00 00 00 83 e8 02 0f 01 c4", "ff ca", 0),
        ]
        for mode in [OperatingMode.long, .protected] {
            for (what, before, step, expected) in cases {
                let longOnly = [before, step].contains { $0.hasPrefix("48") || $0.contains(" 48 ") }
                if mode == .protected && longOnly { continue }
                // mov ebp, 3; mov esi, 2 or 1; loop: <before> <step> setc bl; dec ebp; jnz loop; hlt
                let source = what.contains("(ESI 1)") ? "be 01 00 00 00" : "be 02 00 00 00"
                let body = "\(before) \(step) 0f 92 c3 ff cd"
                let bodyLength = bytes(body).count
                let code = "bd 03 00 00 00 \(source) \(body) 75 \(String(UInt8(truncatingIfNeeded: -(bodyLength + 2)), radix: 16)) f4"
                let options = RunOptions(maxInstructions: 1_000, onFault: .continue)
                let (fast, a) = try run(code, mode: mode, options: options)
                var reference = options
                reference.referencePath = true
                let (slow, b) = try run(code, mode: mode, options: reference)
                #expect(a.reason == .hlt, "\(mode) \(what)")
                #expect(fast.state[.rbx] & 0xFF == UInt64(expected), "\(mode) \(what): CF after the INC or DEC")
                #expect(Report(machine: fast, outcome: a).json == Report(machine: slow, outcome: b).json, "\(mode) \(what)")
                if what.contains("faulting") { #expect(a.faults.count == 3, "\(mode) \(what): one fault a turn") }
            }
        }
    }

    /// The generated table of the fast forms' threaded handlers (ThreadedVariants.swift, by
    /// Scripts/generate-threaded-variants.sh) names every fast form with a width, each with its
    /// own form, and gives loop-closing variants exactly to `Handler.setsLoopCondition`.
    @Test func threadedVariantsCoverEveryFastForm() throws {
        let text = try String(contentsOf: packageRoot.appendingPathComponent("Sources/RingZero/Interpreter/ThreadedVariants.swift"),
                              encoding: .utf8)
        let fastForms = Handler.allCases.filter { $0.isFast && $0 != .jccNear }
        #expect(fastForms.count == ThreadedIndex.fastForms)
        for form in fastForms {
            #expect(text.contains("case .\(form): switch variant {"), "\(form)")
            #expect(text.contains("case .wide: { Machine.fast($0, $1, $2, .\(form), true) }"), "\(form)")
            #expect(text.contains("case .narrow: { Machine.fast($0, $1, $2, .\(form), false) }"), "\(form)")
            let closes = text.contains("{ Machine.closing($0, $1, $2, .\(form), true, .notZero) }")
            #expect(closes == form.setsLoopCondition, "\(form)")
        }
    }

    /// Loops the threaded loop's variants run differently: a self-loop closed by JZ
    /// (`ClosingJcc.zero`), a `mov ecx, imm32; rdmsr` pair taking the full path inside a
    /// self-loop (IA32_TIME_STAMP_COUNTER reads the counters, so the turns so far must be
    /// counted first), and a pair whose MSR instruction is its block's last, at the 64-Op cut
    /// and at the blob's end; each under limits that fall inside, against the reference path.
    @Test func threadedVariantsAgreeWithTheReferencePath() throws {
        let programs = [
            // xor ecx, ecx; loop: inc ecx; test ecx, 8; jz loop; hlt
            "31 c9 ff c1 f7 c1 08 00 00 00 74 f6 f4",
            // mov ebx, 40; loop: mov ecx, 0x10; rdmsr; add rdi, rax; dec ebx; jnz loop; hlt
            "bb 28 00 00 00 b9 10 00 00 00 0f 32 48 01 c7 ff cb 75 f2 f4",
            // 62 x clts, then mov ecx, 0x174; rdmsr as Ops 63 and 64 of the block; hlt
            String(repeating: "0f 06 ", count: 62) + "b9 74 01 00 00 0f 32 f4",
            // mov ecx, 0x174; rdmsr, and the blob ends
            "b9 74 01 00 00 0f 32",
        ]
        for code in programs {
            var limits = [RunOptions()]
            for n: UInt64 in [3, 10, 63, 64, 65, 101] { limits.append(RunOptions(maxInstructions: n)) }
            for c: UInt64 in [70, 300, 999, 4_321] { limits.append(RunOptions(maxCycles: c)) }
            for options in limits {
                var reference = options
                reference.referencePath = true
                let (fast, a) = try run(code, options: options)
                let (slow, b) = try run(code, options: reference)
                #expect(Report(machine: fast, outcome: a).json == Report(machine: slow, outcome: b).json, "\(code.prefix(40)) with \(options)")
            }
        }
        // The JZ loop ran its 8 turns.
        let (m, o) = try run(programs[0])
        #expect(o.reason == .hlt && m.state[.rcx] == 8 && m.instructionCount == 1 + 3 * 8 + 1)
    }
}
