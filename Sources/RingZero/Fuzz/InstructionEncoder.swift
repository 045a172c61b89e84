/// Machine code for the fuzzer's instruction menu, in 16-, 32- or 64-bit code, appended to a
/// `ByteSink` (the generator reuses one buffer, so encoding allocates nothing). Registers are
/// numbered 0-7 (RAX..RDI); RSP (4) is never chosen as a data register by the generator.
///
/// Every form here is one `DirectDecoder` covers, so fuzz cases run without Capstone;
/// `FuzzTests` checks that, and the fuzzer's full checks replay sampled cases through Capstone.
struct InstructionEncoder {
    let mode: CodeMode

    /// The operand-size prefix that makes 32-bit operands in 16-bit code.
    private func op32(_ out: inout ByteSink) { if mode == .bits16 { out.append(0x66) } }
    /// REX.W in 64-bit code, the 32-bit form elsewhere.
    private func wide(_ out: inout ByteSink) { if mode == .bits64 { out.append(0x48) } else { op32(&out) } }


    /// MOV r, imm: the full 64 bits in 64-bit code, the low 32 bits elsewhere.
    func movImmediate(_ r: UInt8, _ value: UInt64, _ out: inout ByteSink) {
        if mode == .bits64 {
            out.append(0x48)
            out.append(0xB8 + r)
            out.appendLittleEndian(value, 8)
            out.endInstruction(template: Template.movImmediate + Int(r), immediateBytes: 8)
        } else {
            op32(&out)
            out.append(0xB8 + r)
            out.appendLittleEndian(value, 4)
            out.endInstruction(template: Template.movImmediate + Int(r), immediateBytes: 4)
        }
    }

    func movToCR(_ cr: UInt8, from r: UInt8, _ out: inout ByteSink) {
        if cr >= 8 { out.append(0x44) }
        out.append(0x0F); out.append(0x22); out.append(0xC0 | ((cr & 7) << 3) | r)
        out.endInstruction(template: Template.movToCR + Int(cr) * 8 + Int(r))
    }

    func movFromCR(_ cr: UInt8, to r: UInt8, _ out: inout ByteSink) {
        if cr >= 8 { out.append(0x44) }
        out.append(0x0F); out.append(0x20); out.append(0xC0 | ((cr & 7) << 3) | r)
        out.endInstruction(template: Template.movFromCR + Int(cr) * 8 + Int(r))
    }

    /// A two-byte 0F xx instruction: CLTS 06, WRMSR 30, RDTSC 31, RDMSR 32, GETSEC 37, CPUID A2.
    func twoByte(_ second: UInt8, _ out: inout ByteSink) {
        out.append(0x0F); out.append(second)
        out.endInstruction(template: Template.twoByte + Int(second))
    }
    static let clts: UInt8 = 0x06, wrmsr: UInt8 = 0x30, rdtsc: UInt8 = 0x31, rdmsr: UInt8 = 0x32
    static let getsec: UInt8 = 0x37, cpuid: UInt8 = 0xA2

    /// LMSW AX.
    func lmswAX(_ out: inout ByteSink) { out.append(0x0F); out.append(0x01); out.append(0xF0); out.endInstruction(template: Template.lmsw) }
    func vmxoff(_ out: inout ByteSink) { out.append(0x0F); out.append(0x01); out.append(0xC4); out.endInstruction(template: Template.vmxoff) }
    func hlt(_ out: inout ByteSink) { out.append(0xF4); out.endInstruction(template: Template.hlt) }

    /// VMXON [address], an absolute memory operand (below 64 KiB so 16-bit code reaches it).
    func vmxon(at address: UInt16, _ out: inout ByteSink) {
        out.append(0xF3); out.append(0x0F); out.append(0xC7)
        switch mode {
        case .bits64: out.append(0x34); out.append(0x25); out.appendLittleEndian(UInt64(address), 4)
        case .bits32: out.append(0x35); out.appendLittleEndian(UInt64(address), 4)
        case .bits16: out.append(0x36); out.appendLittleEndian(UInt64(address), 2)
        }
        // The operand is the instruction's: one template per address.
        let slot = Int(address &- 0x2000) / 8
        out.endInstruction(template: address >= 0x2000 && address % 8 == 0 && slot < Template.vmxonSlots ? Template.vmxon + slot : Template.none)
    }

    /// ADD, OR, AND, SUB, XOR, CMP (by `kind` 0-5) or TEST (6) of two registers.
    func alu(_ kind: Int, _ dst: UInt8, _ src: UInt8, _ out: inout ByteSink) {
        wide(&out)
        out.append(Self.aluOpcodes[kind % Self.aluOpcodes.count])
        out.append(0xC0 | (src << 3) | dst)
        out.endInstruction(template: Template.alu + (kind % Self.aluOpcodes.count) * 64 + Int(dst) * 8 + Int(src))
    }
    private static let aluOpcodes: [UInt8] = [0x01, 0x09, 0x21, 0x29, 0x31, 0x39, 0x85]

    /// INC or DEC of a register.
    func step(_ r: UInt8, decrement: Bool, _ out: inout ByteSink) {
        wide(&out)
        out.append(0xFF)
        out.append((decrement ? 0xC8 : 0xC0) | r)
        out.endInstruction(template: Template.step + (decrement ? 8 : 0) + Int(r))
    }

    func push(_ r: UInt8, _ out: inout ByteSink) { out.append(0x50 + r); out.endInstruction(template: Template.push + Int(r)) }
    func pop(_ r: UInt8, _ out: inout ByteSink) { out.append(0x58 + r); out.endInstruction(template: Template.pop + Int(r)) }

    /// Jcc to the next instruction: taken or not, it only reads the flags.
    /// A relative branch: its Op holds its target, so it has no template.
    func jccNext(_ cc: UInt8, _ out: inout ByteSink) { out.append(0x70 | (cc & 15)); out.append(0x00); out.endInstruction(template: Template.none) }
}

/// What an encoded instruction is apart from its immediate operand and its address, as a small
/// number (in one code mode): the instructions of a template decode to the same Op but for
/// those (`OpPrototypes`). Registers are 0-7, control registers 0-8.
enum Template {
    static let none = 0
    static let movImmediate = 1
    static let movToCR = movImmediate + 8
    static let movFromCR = movToCR + 9 * 8
    /// By the second opcode byte.
    static let twoByte = movFromCR + 9 * 8
    static let lmsw = twoByte + 256
    static let vmxoff = lmsw + 1
    static let hlt = vmxoff + 1
    /// By the operand's slot (`CaseGenerator.pointerSlots`).
    static let vmxon = hlt + 1
    static let vmxonSlots = 8
    /// By kind, destination and source.
    static let alu = vmxon + vmxonSlots
    static let step = alu + 8 * 64
    static let push = step + 16
    static let pop = push + 8
    /// A host-oracle check, by operation and size (`HostCheck.encode`).
    static let host = pop + 8
    static let count = host + 32 * 4
}

/// Bytes appended into memory of a fixed capacity: a store and an increment each, where an
/// `Array` append checks uniqueness and capacity first (the generator appends every byte of
/// every case, and that was a tenth of its time). It also records where each instruction ends
/// and how many of its last bytes are an immediate operand, for `OpPrototypes`.
struct ByteSink {
    private let base: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private(set) var count = 0
    private let ends: UnsafeMutablePointer<InstructionEnd>
    private(set) var instructionCount = 0

    /// `base` has room for `capacity + slack` bytes, `ends` for `capacity` instructions (each
    /// takes a byte at least).
    init(_ base: UnsafeMutablePointer<UInt8>, capacity: Int, ends: UnsafeMutablePointer<InstructionEnd>) {
        self.base = base
        self.capacity = capacity
        self.ends = ends
    }

    @inline(__always) mutating func append(_ byte: UInt8) {
        precondition(count < capacity, "ByteSink overflow")
        base[count] = byte
        count += 1
    }

    /// The low `n` bytes of `value`, least significant first: one 8-byte store (the memory has
    /// `slack` bytes past `capacity` for it), of which the next appends overwrite the rest.
    @inline(__always) mutating func appendLittleEndian(_ value: UInt64, _ n: Int) {
        precondition(n <= 8 && count + n <= capacity, "ByteSink overflow")
        UnsafeMutableRawPointer(base + count).storeBytes(of: value.littleEndian, as: UInt64.self)
        count += n
    }

    /// Bytes the memory must have past `capacity` (`appendLittleEndian`).
    static let slack = 8

    /// The bytes since the last instruction's end are one instruction of `template`, whose
    /// last `immediateBytes` are its immediate operand.
    @inline(__always) mutating func endInstruction(template: Int, immediateBytes: UInt8 = 0) {
        ends[instructionCount] = InstructionEnd(offset: UInt16(truncatingIfNeeded: count), immediateBytes: immediateBytes,
                                                template: UInt16(truncatingIfNeeded: template))
        instructionCount += 1
    }

    /// The instructions since the last chunk's end are a chunk (`FuzzCase.chunks`). Marked on
    /// the last instruction's end: a list of chunk ends of its own, an array, checked its
    /// buffer for sharing at every append.
    @inline(__always) mutating func endChunk() {
        precondition(instructionCount > 0, "a chunk with no instruction")
        ends[instructionCount - 1].endsChunk = true
    }
}

/// Where an encoded instruction ends in its case's bytes, how many of its last bytes are an
/// immediate operand, and its `Template`.
struct InstructionEnd {
    var offset: UInt16
    var immediateBytes: UInt8
    var template: UInt16
    /// Whether a chunk (what minimizing drops or keeps whole) ends with this instruction.
    var endsChunk = false
}
