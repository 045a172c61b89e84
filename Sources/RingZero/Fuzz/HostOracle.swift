import CHostOracle

/// The unprivileged integer instructions the host processor can run as an oracle.
public enum HostOperation: Int32, CaseIterable, Sendable {
    case add, adc, sub, sbb, and, or, xor, cmp, test, inc, dec, neg, not, shl, shr, sar, rol, ror, imul

    var isShift: Bool { self == .shl || self == .shr || self == .sar || self == .rol || self == .ror }
}

/// One host-oracle check: an operation on RAX (and RBX, or CL for shifts and rotates) at one
/// operand size, from given status flags. The interpreter runs it as a one-instruction blob from
/// a state file; the host runs the same instruction natively; the results and every flag the
/// SDM defines for the case must agree.
public struct HostCheck: Sendable, Equatable {
    public var operation: HostOperation
    public var size: UInt8
    public var a: UInt64
    public var b: UInt64
    public var flags: UInt64

    public init(operation: HostOperation, size: UInt8, a: UInt64, b: UInt64, flags: UInt64) {
        self.operation = operation
        self.size = size
        self.a = a
        self.b = b
        self.flags = flags
    }

    /// Whether this build can run the host oracle (an x86-64 host).
    public static var available: Bool { rz_host_available() != 0 }

    /// The instruction in 64-bit code: `op rax, rbx` / `op rax` / `op rax, cl` / `imul rax, rbx`
    /// at the operand size (AL/BL for one byte).
    var code: [UInt8] {
        var buffer = CaseBuffer()
        buffer.write(capacity: 4) { encode(&$0) }
        return Array(buffer.storage[0..<buffer.count])
    }

    /// `code`, appended to `out` as one instruction of its own `Template` (by operation and
    /// size), without the arrays `code` builds.
    func encode(_ out: inout ByteSink) {
        if size == 8 { out.append(0x48) } else if size == 2 { out.append(0x66) }
        let byte = size == 1
        func group(_ opcode8: UInt8, _ opcode: UInt8, _ ext: UInt8) {
            out.append(byte ? opcode8 : opcode)
            out.append(0xC0 | (ext << 3))
        }
        func rr(_ opcode8: UInt8, _ opcode: UInt8) {
            out.append(byte ? opcode8 : opcode)
            out.append(0xD8)
        }
        switch operation {
        case .add: rr(0x00, 0x01)
        case .adc: rr(0x10, 0x11)
        case .sub: rr(0x28, 0x29)
        case .sbb: rr(0x18, 0x19)
        case .and: rr(0x20, 0x21)
        case .or: rr(0x08, 0x09)
        case .xor: rr(0x30, 0x31)
        case .cmp: rr(0x38, 0x39)
        case .test: rr(0x84, 0x85)
        case .inc: group(0xFE, 0xFF, 0)
        case .dec: group(0xFE, 0xFF, 1)
        case .not: group(0xF6, 0xF7, 2)
        case .neg: group(0xF6, 0xF7, 3)
        case .rol: group(0xD2, 0xD3, 0)
        case .ror: group(0xD2, 0xD3, 1)
        case .shl: group(0xD2, 0xD3, 4)
        case .shr: group(0xD2, 0xD3, 5)
        case .sar: group(0xD2, 0xD3, 7)
        case .imul: out.append(0x0F); out.append(0xAF); out.append(0xC3)
        }
        let sizeIndex = size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3
        out.endInstruction(template: Template.host + Int(operation.rawValue) * 4 + sizeIndex)
    }

    /// The starting state: 64-bit mode, the operands in RAX and RBX (the count in RCX), the flags.
    var state: JSONValue {
        .object([
            ("mode", .string("long")),
            ("registers", .object([("rax", .hex(a)), ("rbx", .hex(b)), ("rcx", .hex(b)), ("rflags", .hex((flags & RFLAGS.status) | RFLAGS.reserved1))])),
        ])
    }

    /// What the host computes: the destination (masked to the size) and RFLAGS.
    func hostResult() -> (value: UInt64, flags: UInt64) {
        var out: UInt64 = 0
        let v = rz_host_execute(operation.rawValue, Int32(size), a, b, flags, &out)
        return (v & sizeMask(size), out)
    }

    /// The status flags the SDM defines after this instruction with these operands.
    var definedFlags: UInt64 {
        let all = RFLAGS.status
        switch operation {
        case .add, .adc, .sub, .sbb, .cmp, .neg, .inc, .dec, .not: return all
        case .and, .or, .xor, .test: return all & ~RFLAGS.AF
        case .imul: return RFLAGS.CF | RFLAGS.OF
        case .shl, .shr, .sar, .rol, .ror:
            let count = b & (size == 8 ? 0x3F : 0x1F)
            if count == 0 { return all }
            if operation == .rol || operation == .ror {
                // Rotates change CF and OF only; OF is defined for a count of 1.
                return all & ~(count == 1 ? 0 : RFLAGS.OF)
            }
            var defined = RFLAGS.SF | RFLAGS.ZF | RFLAGS.PF
            // CF is undefined after SHL and SHR by the operand width or more (SDM SAL/SAR/SHL/SHR);
            // SAR's is always the last bit shifted out.
            if operation == .sar || count < UInt64(size) * 8 { defined |= RFLAGS.CF }
            if count == 1 { defined |= RFLAGS.OF }
            return defined
        }
    }

    /// The case the fuzzer runs for this check.
    var fuzzCase: FuzzCase { FuzzCase(hostCheck: self) }
}
