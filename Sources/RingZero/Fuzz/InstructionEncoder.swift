/// Machine code for the fuzzer's instruction menu, in 16-, 32- or 64-bit code. Registers are
/// numbered 0-7 (RAX..RDI); RSP (4) is never chosen as a data register by the generator.
struct InstructionEncoder {
    let mode: CodeMode

    /// The operand-size prefix that makes 32-bit operands in 16-bit code.
    private var op32: [UInt8] { mode == .bits16 ? [0x66] : [] }
    /// REX.W in 64-bit code, the 32-bit form elsewhere.
    private var wide: [UInt8] { mode == .bits64 ? [0x48] : op32 }

    /// MOV r, imm: the full 64 bits in 64-bit code, the low 32 bits elsewhere.
    func movImmediate(_ r: UInt8, _ value: UInt64) -> [UInt8] {
        if mode == .bits64 { return [0x48, 0xB8 + r] + le(value, 8) }
        return op32 + [0xB8 + r] + le(value, 4)
    }

    func movToCR(_ cr: UInt8, from r: UInt8) -> [UInt8] {
        (cr >= 8 ? [0x44] : []) + [0x0F, 0x22, 0xC0 | ((cr & 7) << 3) | r]
    }

    func movFromCR(_ cr: UInt8, to r: UInt8) -> [UInt8] {
        (cr >= 8 ? [0x44] : []) + [0x0F, 0x20, 0xC0 | ((cr & 7) << 3) | r]
    }

    var clts: [UInt8] { [0x0F, 0x06] }
    /// LMSW AX.
    var lmswAX: [UInt8] { [0x0F, 0x01, 0xF0] }
    var rdmsr: [UInt8] { [0x0F, 0x32] }
    var wrmsr: [UInt8] { [0x0F, 0x30] }
    var getsec: [UInt8] { [0x0F, 0x37] }
    var cpuid: [UInt8] { [0x0F, 0xA2] }
    var rdtsc: [UInt8] { [0x0F, 0x31] }
    var vmxoff: [UInt8] { [0x0F, 0x01, 0xC4] }
    var hlt: [UInt8] { [0xF4] }

    /// VMXON [address], an absolute memory operand (below 64 KiB so 16-bit code reaches it).
    func vmxon(at address: UInt16) -> [UInt8] {
        switch mode {
        case .bits64: [0xF3, 0x0F, 0xC7, 0x34, 0x25] + le(UInt64(address), 4)
        case .bits32: [0xF3, 0x0F, 0xC7, 0x35] + le(UInt64(address), 4)
        case .bits16: [0xF3, 0x0F, 0xC7, 0x36] + le(UInt64(address), 2)
        }
    }

    /// ADD, OR, AND, SUB, XOR, CMP (by `kind` 0-5) or TEST (6) of two registers.
    func alu(_ kind: Int, _ dst: UInt8, _ src: UInt8) -> [UInt8] {
        let opcode: [UInt8] = [0x01, 0x09, 0x21, 0x29, 0x31, 0x39, 0x85]
        return wide + [opcode[kind % opcode.count], 0xC0 | (src << 3) | dst]
    }

    /// INC or DEC of a register.
    func step(_ r: UInt8, decrement: Bool) -> [UInt8] { wide + [0xFF, (decrement ? 0xC8 : 0xC0) | r] }

    func push(_ r: UInt8) -> [UInt8] { [0x50 + r] }
    func pop(_ r: UInt8) -> [UInt8] { [0x58 + r] }

    /// Jcc to the next instruction: taken or not, it only reads the flags.
    func jccNext(_ cc: UInt8) -> [UInt8] { [0x70 | (cc & 15), 0x00] }

    private func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
}
