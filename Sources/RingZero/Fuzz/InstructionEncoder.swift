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

    private func le(_ v: UInt64, _ n: Int, _ out: inout ByteSink) {
        for k in 0..<n { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(k)))) }
    }

    /// MOV r, imm: the full 64 bits in 64-bit code, the low 32 bits elsewhere.
    func movImmediate(_ r: UInt8, _ value: UInt64, _ out: inout ByteSink) {
        if mode == .bits64 {
            out.append(0x48)
            out.append(0xB8 + r)
            le(value, 8, &out)
        } else {
            op32(&out)
            out.append(0xB8 + r)
            le(value, 4, &out)
        }
    }

    func movToCR(_ cr: UInt8, from r: UInt8, _ out: inout ByteSink) {
        if cr >= 8 { out.append(0x44) }
        out.append(0x0F); out.append(0x22); out.append(0xC0 | ((cr & 7) << 3) | r)
    }

    func movFromCR(_ cr: UInt8, to r: UInt8, _ out: inout ByteSink) {
        if cr >= 8 { out.append(0x44) }
        out.append(0x0F); out.append(0x20); out.append(0xC0 | ((cr & 7) << 3) | r)
    }

    /// A two-byte 0F xx instruction: CLTS 06, WRMSR 30, RDTSC 31, RDMSR 32, GETSEC 37, CPUID A2.
    func twoByte(_ second: UInt8, _ out: inout ByteSink) { out.append(0x0F); out.append(second) }
    static let clts: UInt8 = 0x06, wrmsr: UInt8 = 0x30, rdtsc: UInt8 = 0x31, rdmsr: UInt8 = 0x32
    static let getsec: UInt8 = 0x37, cpuid: UInt8 = 0xA2

    /// LMSW AX.
    func lmswAX(_ out: inout ByteSink) { out.append(0x0F); out.append(0x01); out.append(0xF0) }
    func vmxoff(_ out: inout ByteSink) { out.append(0x0F); out.append(0x01); out.append(0xC4) }
    func hlt(_ out: inout ByteSink) { out.append(0xF4) }

    /// VMXON [address], an absolute memory operand (below 64 KiB so 16-bit code reaches it).
    func vmxon(at address: UInt16, _ out: inout ByteSink) {
        out.append(0xF3); out.append(0x0F); out.append(0xC7)
        switch mode {
        case .bits64: out.append(0x34); out.append(0x25); le(UInt64(address), 4, &out)
        case .bits32: out.append(0x35); le(UInt64(address), 4, &out)
        case .bits16: out.append(0x36); le(UInt64(address), 2, &out)
        }
    }

    /// ADD, OR, AND, SUB, XOR, CMP (by `kind` 0-5) or TEST (6) of two registers.
    func alu(_ kind: Int, _ dst: UInt8, _ src: UInt8, _ out: inout ByteSink) {
        wide(&out)
        out.append(Self.aluOpcodes[kind % Self.aluOpcodes.count])
        out.append(0xC0 | (src << 3) | dst)
    }
    private static let aluOpcodes: [UInt8] = [0x01, 0x09, 0x21, 0x29, 0x31, 0x39, 0x85]

    /// INC or DEC of a register.
    func step(_ r: UInt8, decrement: Bool, _ out: inout ByteSink) {
        wide(&out)
        out.append(0xFF)
        out.append((decrement ? 0xC8 : 0xC0) | r)
    }

    func push(_ r: UInt8, _ out: inout ByteSink) { out.append(0x50 + r) }
    func pop(_ r: UInt8, _ out: inout ByteSink) { out.append(0x58 + r) }

    /// Jcc to the next instruction: taken or not, it only reads the flags.
    func jccNext(_ cc: UInt8, _ out: inout ByteSink) { out.append(0x70 | (cc & 15)); out.append(0x00) }
}

/// Bytes appended into memory of a fixed capacity: a store and an increment each, where an
/// `Array` append checks uniqueness and capacity first (the generator appends every byte of
/// every case, and that was a tenth of its time).
struct ByteSink {
    private let base: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private(set) var count = 0

    init(_ base: UnsafeMutablePointer<UInt8>, capacity: Int) {
        self.base = base
        self.capacity = capacity
    }

    @inline(__always) mutating func append(_ byte: UInt8) {
        precondition(count < capacity, "ByteSink overflow")
        base[count] = byte
        count += 1
    }

    mutating func append(contentsOf bytes: [UInt8]) {
        for b in bytes { append(b) }
    }
}
