import Testing
@testable import RingZero

@Suite struct DecoderTests {
    let decoder = try! Decoder()

    func lower(_ hex: String, _ mode: CodeMode) -> Op? {
        bytes(hex).withUnsafeBytes { raw in
            decoder.withInstruction(raw, address: 0x1000, mode: mode) { Lowering($0, mode: mode).lower(costs: .standard) }
        }
    }

    @Test func operandSizeFollowsTheCodeMode() throws {
        // B8 imm: mov ax, imm16 in 16-bit code; mov eax, imm32 in 32- and 64-bit code.
        let op16 = try #require(lower("b8 34 12 00 00", .bits16))
        #expect(op16.handler == .mov && op16.length == 3 && op16.size == 2 && op16.imm == 0x1234)
        let op32 = try #require(lower("b8 34 12 00 00", .bits32))
        #expect(op32.length == 5 && op32.size == 4)
        // 66h flips it.
        let op16to32 = try #require(lower("66 b8 34 12 00 00", .bits16))
        #expect(op16to32.size == 4 && op16to32.length == 6)
        // 48h is DEC EAX in 32-bit code but REX.W in 64-bit code.
        #expect(lower("48", .bits32)?.handler == .dec)
        let op64 = try #require(lower("48 b8 88 77 66 55 44 33 22 11", .bits64))
        #expect(op64.size == 8 && UInt64(bitPattern: op64.imm) == 0x1122_3344_5566_7788)
    }

    @Test func privilegedInstructionsDecodeInEveryMode() throws {
        for mode in CodeMode.allCases {
            #expect(lower("0f 22 c0", mode)?.handler == .movToCR, "mov cr0 in \(mode)")
            #expect(lower("0f 20 e0", mode)?.handler == .movFromCR, "mov from cr4 in \(mode)")
            #expect(lower("0f 06", mode)?.handler == .clts)
            #expect(lower("0f 01 f0", mode)?.handler == .lmsw)
            #expect(lower("0f 32", mode)?.handler == .rdmsr)
            #expect(lower("0f 30", mode)?.handler == .wrmsr)
            #expect(lower("0f 37", mode)?.handler == .getsec)
            #expect(lower("0f 01 c4", mode)?.handler == .vmxoff)
        }
    }

    @Test func controlRegistersThatDoNotExistAreUD() {
        // CR1 (reg field 1), CR5, CR6, CR7; and CR9 via REX.R in 64-bit code.
        for hex in ["0f 22 c8", "0f 22 e8", "0f 20 f0", "0f 20 f8"] {
            #expect(lower(hex, .bits64)?.handler == .invalidOpcode, "\(hex)")
        }
        #expect(lower("44 0f 22 c8", .bits64)?.handler == .invalidOpcode)
        // CR8 exists in 64-bit code.
        let cr8 = lower("44 0f 22 c0", .bits64)
        #expect(cr8?.handler == .movToCR && cr8?.cond == 8)
        // LOCK MOV CR0 is not an instruction Capstone accepts: the run raises #UD for it.
        #expect(lower("f0 0f 22 c0", .bits64) == nil || lower("f0 0f 22 c0", .bits64)?.handler == .invalidOpcode)
    }

    @Test func vmxonIsRecognisedFromTheRawBytesInEveryMode() throws {
        // Capstone 4.0.2 calls F3 0F C7 /6 VMPTRLD in 16-bit code; RingZero reads the bytes.
        let v16 = try #require(lower("f3 0f c7 36 00 30", .bits16))
        #expect(v16.handler == .vmxon && v16.disp == 0x3000)
        #expect(lower("f3 0f c7 30", .bits32)?.handler == .vmxon)
        #expect(lower("f3 0f c7 30", .bits64)?.handler == .vmxon)
        // Its register form is #UD, not RDRAND.
        #expect(lower("f3 0f c7 f0", .bits16)?.handler == .invalidOpcode)
        #expect(lower("f3 0f c7 f0", .bits64)?.handler == .invalidOpcode)
        // Without F3 it is VMPTRLD (66h: VMCLEAR): not implemented.
        #expect(lower("0f c7 30", .bits64)?.handler == .unsupported)
        #expect(lower("66 0f c7 30", .bits64)?.handler == .unsupported)
    }

    @Test func prefixRules() {
        // GETSEC with a mandatory-prefix violation is #UD.
        #expect(lower("66 0f 37", .bits64)?.handler == .invalidOpcode)
        #expect(lower("f3 0f 37", .bits64)?.handler == .invalidOpcode)
        // LOCK is allowed on a read-modify-write with a memory destination only.
        #expect(lower("f0 01 18", .bits64)?.handler == .add)
        #expect(lower("f0 0f 06", .bits64) == nil || lower("f0 0f 06", .bits64)?.handler == .invalidOpcode)
    }

    @Test func ripRelativeAddressIsResolvedAtDecode() throws {
        // mov rax, [rip + 0x100] at 0x1000, 7 bytes long: address 0x1107.
        let op = try #require(lower("48 8b 05 00 01 00 00", .bits64))
        #expect(op.srcKind == .mem && op.memBase == Op.noRegister && op.disp == 0x1107)
    }

    @Test func listingMarksImplementedInstructions() {
        let entries = decoder.listing(bytes("0f 22 c0 0f c7 30 06 f4"), at: 0x1000, mode: .bits64)
        #expect(entries.map(\.implemented) == [true, false, true, true])
        #expect(entries[2].text == nil)
        #expect(entries[3].text == "hlt")
    }
}
