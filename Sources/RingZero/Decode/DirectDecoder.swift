import CCapstone

/// Decodes a small set of simple encodings straight from the bytes to Ops, without Capstone:
/// the register forms (byte, word, doubleword, quadword) of the integer instructions fuzzers
/// and cold-code workloads emit most,
/// MOV to and from control registers, the no-operand privileged instructions, and VMXON with an
/// absolute memory operand.
///
/// Why: Capstone plus lowering costs about 370 ns per instruction (W6), so fuzzing fresh
/// sequences spends almost all its time decoding. This path costs a few nanoseconds.
///
/// It gives exactly the Op Capstone plus `Lowering` gives for the same bytes (the same
/// handler, operands, sizes, Capstone instruction id, prefixes, cost), or nil, in which case
/// Capstone decodes them. Anything outside the forms listed here returns nil: other prefixes
/// (LOCK, segment overrides, 67h, F2h, REX.X), memory operands other than VMXON's, invalid
/// control registers. `DirectDecoderTests` compares both decoders on every
/// form in every mode and on random bytes, and the fuzzer's full checks decode every sampled
/// case with Capstone alone. Machines use it only when `Machine.decodesCommonFormsDirectly` is
/// on; the reference path never does.
enum DirectDecoder {
    /// The Op for the instruction at `p`, of which `available` bytes may be read; nil when the
    /// bytes are not a form covered here.
    static func decode(_ p: UnsafePointer<UInt8>, available: Int, address: UInt64, mode: CodeMode,
                       costs: CostModel, fastForms: Bool) -> Op? {
        var op = Op(handler: .invalidOpcode, address: address, length: 1, codeMode: mode)
        return decode(p, available: available, address: address, mode: mode, costs: costs, fastForms: fastForms, into: &op) ? op : nil
    }

    /// The same, decoded into `op` in place: building the Op somewhere else and copying it cost a
    /// store-forwarding stall per copy (the fields are written a byte at a time, the copy reads
    /// 16 bytes at a time). `op` is left unspecified when the result is false.
    static func decode(_ p: UnsafePointer<UInt8>, available: Int, address: UInt64, mode: CodeMode,
                       costs: CostModel, fastForms: Bool, into op: inout Op) -> Bool {
        guard lower(p, available: available, address: address, mode: mode, into: &op) else { return false }
        if fastForms, let fast = Lowering.fastForm(of: op) { op.handler = fast }
        costs.price(&op)
        return true
    }

    /// The operand size of the instruction: REX.W, then 66h, then the code size.
    @inline(__always)
    private static func operandSize(_ mode: CodeMode, rexW: Bool, has66: Bool) -> UInt8 {
        switch mode {
        case .bits64: rexW ? 8 : (has66 ? 2 : 4)
        case .bits32: has66 ? 2 : 4
        case .bits16: has66 ? 4 : 2
        }
    }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    private static func lower(_ p: UnsafePointer<UInt8>, available: Int, address: UInt64, mode: CodeMode, into op: inout Op) -> Bool {
        var i = 0
        var has66 = false, hasF3 = false
        guard available > 0 else { return false }
        if p[0] == 0x66 { has66 = true; i = 1 } else if p[0] == 0xF3 { hasF3 = true; i = 1 }
        var rex: UInt8 = 0
        if mode == .bits64, i < available, p[i] & 0xF0 == 0x40 { rex = p[i]; i += 1 }
        // REX.X selects an index register, which no form here has; 66h with REX and F3h with
        // anything but VMXON are left to Capstone.
        if rex & 2 != 0 || (has66 && rex != 0) || (hasF3 && rex != 0) { return false }
        guard i < available else { return false }
        let rexW = rex & 8 != 0
        let regHigh: UInt8 = rex & 4 != 0 ? 8 : 0, rmHigh: UInt8 = rex & 1 != 0 ? 8 : 0
        let size = operandSize(mode, rexW: rexW, has66: has66)
        // Without a 67h prefix (declined) the address size is the code size.
        let codeSize = UInt8(mode.bits / 8)
        let opcode = p[i]
        i += 1

        // Plain functions of their arguments (no closures over `i`, which would box it).
        @inline(__always) func make(_ handler: Handler, _ id: x86_insn, length: Int) -> Op {
            var op = Op(handler: handler, address: address, length: UInt8(truncatingIfNeeded: length), codeMode: mode)
            op.instructionID = id.rawValue
            op.addressSize = codeSize
            return op
        }
        /// An instruction without operands: sized by the code, as lowering sizes it.
        @inline(__always) func bare(_ handler: Handler, _ id: x86_insn, length: Int) -> Op {
            var op = make(handler, id, length: length)
            op.size = codeSize
            return op
        }
        /// The ModRM byte at `at` of a register-direct form, or nil.
        @inline(__always) func registerModRM(_ at: Int) -> UInt8? {
            at < available && p[at] >> 6 == 3 ? p[at] : nil
        }
        @inline(__always) func immediate(_ at: Int, _ bytes: Int) -> UInt64? {
            guard at + bytes <= available else { return nil }
            var v: UInt64 = 0
            for k in 0..<bytes { v |= UInt64(p[at + k]) << (8 * UInt64(k)) }
            return v
        }

        if hasF3 {
            // VMXON m64 with an absolute address: F3 0F C7 /6.
            guard i + 1 < available, opcode == 0x0F, p[i] == 0xC7 else { return false }
            let modrm = p[i + 1]
            guard modrm >> 6 == 0, (modrm >> 3) & 7 == 6 else { return false }
            var at = i + 2
            let disp: Int64
            switch mode {
            case .bits64:
                guard modrm & 7 == 4, at < available, p[at] == 0x25, let d = immediate(at + 1, 4) else { return false }
                disp = Int64(Int32(truncatingIfNeeded: d))
                at += 5
            case .bits32:
                guard modrm & 7 == 5, let d = immediate(at, 4) else { return false }
                disp = Int64(Int32(truncatingIfNeeded: d))
                at += 4
            case .bits16:
                guard modrm & 7 == 6, let d = immediate(at, 2) else { return false }
                disp = Int64(Int16(truncatingIfNeeded: d))
                at += 2
            }
            // Capstone counts the F3h as part of the opcode, not as a REP prefix.
            op = make(.vmxon, mode == .bits16 ? X86_INS_VMPTRLD : X86_INS_VMXON, length: at)
            op.srcKind = .mem
            op.size = 8
            op.disp = disp
            return true
        }

        /// A byte register: AH, CH, DH and BH are numbers 4-7 without a REX prefix.
        @inline(__always) func byteRegister(_ n: UInt8) -> (OperandKind, UInt8) {
            rex == 0 && n >= 4 && n < 8 ? (.regHigh8, n - 4) : (.reg, n)
        }
        /// A register destination of the byte form or of the operand size, which sets the size.
        @inline(__always) func registerDestination(_ op: inout Op, _ n: UInt8, byte: Bool) {
            if byte {
                op.size = 1
                (op.dstKind, op.dstReg) = byteRegister(n)
            } else {
                op.size = size
                (op.dstKind, op.dstReg) = (.reg, n)
            }
        }

        switch opcode {
        case 0x00, 0x01, 0x08, 0x09, 0x10, 0x11, 0x18, 0x19, 0x20, 0x21, 0x28, 0x29, 0x30, 0x31, 0x38, 0x39,
             0x84, 0x85, 0x88, 0x89:
            // ADD/OR/ADC/SBB/AND/SUB/XOR/CMP/TEST/MOV r/m, r; the even opcodes are the byte
            // forms.
            guard i < available else { return false }
            let modrm = p[i]
            let (handler, id): (Handler, x86_insn) = switch opcode & 0xFE {
            case 0x00: (.add, X86_INS_ADD)
            case 0x08: (.or, X86_INS_OR)
            case 0x10: (.adc, X86_INS_ADC)
            case 0x18: (.sbb, X86_INS_SBB)
            case 0x20: (.and, X86_INS_AND)
            case 0x28: (.sub, X86_INS_SUB)
            case 0x30: (.xor, X86_INS_XOR)
            case 0x38: (.cmp, X86_INS_CMP)
            case 0x84: (.test, X86_INS_TEST)
            default: (.mov, X86_INS_MOV)
            }
            op = make(handler, id, length: i + 1)
            let dst = (modrm & 7) | rmHigh, src = ((modrm >> 3) & 7) | regHigh
            let byte = opcode & 1 == 0
            op.size = byte ? 1 : size
            op.srcSize = op.size
            if byte { (op.srcKind, op.srcReg) = byteRegister(src) } else { (op.srcKind, op.srcReg) = (.reg, src) }
            if modrm >> 6 == 3 {
                if byte { (op.dstKind, op.dstReg) = byteRegister(dst) } else { (op.dstKind, op.dstReg) = (.reg, dst) }
            } else {
                guard let end = memoryOperand(p, available: available, at: i, rex: rex, mode: mode, op: &op) else { return false }
                op.dstKind = .mem
                op.length = UInt8(end)
                if op.memBase == ripRelative {
                    // Capstone gives the absolute address, cut to the address size.
                    op.memBase = Op.noRegister
                    op.disp = op.disp &+ Int64(bitPattern: address &+ UInt64(end))
                }
            }
            return true

        case 0xD2, 0xD3:
            // Shifts and rotates by CL.
            guard let modrm = registerModRM(i), let (handler, id) = shiftGroup(modrm) else { return false }
            op = make(handler, id, length: i + 1)
            registerDestination(&op, (modrm & 7) | rmHigh, byte: opcode == 0xD2)
            op.srcKind = .reg
            op.srcReg = 1
            op.srcSize = 1
            return true

        case 0xF6, 0xF7, 0xFE:
            // NOT/NEG (F6/F7 /2 /3) and byte INC/DEC (FE /0 /1) of a register.
            guard let modrm = registerModRM(i) else { return false }
            let handler: Handler, id: x86_insn
            switch (opcode, (modrm >> 3) & 7) {
            case (0xFE, 0): (handler, id) = (.inc, X86_INS_INC)
            case (0xFE, 1): (handler, id) = (.dec, X86_INS_DEC)
            case (0xF6, 2), (0xF7, 2): (handler, id) = (.not, X86_INS_NOT)
            case (0xF6, 3), (0xF7, 3): (handler, id) = (.neg, X86_INS_NEG)
            default: return false
            }
            op = make(handler, id, length: i + 1)
            registerDestination(&op, (modrm & 7) | rmHigh, byte: opcode != 0xF7)
            return true

        case 0x83, 0xC1:
            // Group 1 with a sign-extended imm8, and shifts/rotates by imm8, on a register.
            guard let modrm = registerModRM(i), let raw = immediate(i + 1, 1) else { return false }
            let handler: Handler, id: x86_insn
            if opcode == 0x83 {
                switch (modrm >> 3) & 7 {
                case 0: (handler, id) = (.add, X86_INS_ADD)
                case 1: (handler, id) = (.or, X86_INS_OR)
                case 4: (handler, id) = (.and, X86_INS_AND)
                case 5: (handler, id) = (.sub, X86_INS_SUB)
                case 6: (handler, id) = (.xor, X86_INS_XOR)
                case 7: (handler, id) = (.cmp, X86_INS_CMP)
                default: return false
                }
            } else {
                guard let shift = shiftGroup(modrm) else { return false }
                (handler, id) = shift
            }
            op = make(handler, id, length: i + 2)
            op.size = size
            op.dstKind = .reg
            op.dstReg = (modrm & 7) | rmHigh
            op.srcKind = .imm
            if opcode == 0x83 {
                // Capstone reports the immediate sign-extended to 64 bits for ADD, SUB and
                // CMP, and cut to the operand size for the logical OR, AND and XOR.
                op.srcSize = size
                let extended = Int64(Int8(truncatingIfNeeded: raw))
                let logical = handler == .or || handler == .and || handler == .xor
                op.imm = logical ? Int64(bitPattern: UInt64(bitPattern: extended) & sizeMask(size)) : extended
            } else {
                op.srcSize = 1
                op.imm = Int64(raw)
            }
            return true

        case 0xFF:
            // INC/DEC of a register.
            guard let modrm = registerModRM(i) else { return false }
            let reg = (modrm >> 3) & 7
            guard reg <= 1 else { return false }
            op = make(reg == 0 ? .inc : .dec, reg == 0 ? X86_INS_INC : X86_INS_DEC, length: i + 1)
            op.size = size
            op.dstKind = .reg
            op.dstReg = (modrm & 7) | rmHigh
            return true

        case 0xB8...0xBF:
            // MOV r, imm: imm64 with REX.W, else the operand size.
            let bytes = Int(size)
            guard let value = immediate(i, bytes) else { return false }
            op = make(.mov, bytes == 8 ? X86_INS_MOVABS : X86_INS_MOV, length: i + bytes)
            op.size = size
            op.srcSize = size
            op.dstKind = .reg
            op.dstReg = (opcode & 7) | rmHigh
            op.srcKind = .imm
            op.imm = Int64(bitPattern: value)
            return true

        case 0x50...0x5F:
            // PUSH/POP r: 64-bit in 64-bit mode unless 66h.
            if rexW { return false }
            let stackSize: UInt8 = mode == .bits64 ? (has66 ? 2 : 8) : size
            let push = opcode < 0x58
            op = make(push ? .push : .pop, push ? X86_INS_PUSH : X86_INS_POP, length: i)
            op.size = stackSize
            // The pushed register is the source.
            op.setRegister((opcode & 7) | rmHigh, source: push)
            return true

        case 0x70...0x7F:
            // Jcc rel8; Capstone gives the absolute target, cut to the code size.
            guard !has66, let raw = immediate(i, 1) else { return false }
            let next = address &+ UInt64(i + 1)
            var target = next &+ UInt64(bitPattern: Int64(Int8(truncatingIfNeeded: raw)))
            if mode == .bits32 { target &= 0xFFFF_FFFF } else if mode == .bits16 { target &= 0xFFFF }
            op = make(.jcc, jccIDs[Int(opcode & 15)], length: i + 1)
            op.imm = Int64(bitPattern: target)
            op.size = codeSize
            op.cond = opcode & 15
            return true

        case 0x40...0x4F where mode != .bits64:
            // INC/DEC r in 16- and 32-bit code (REX prefixes in 64-bit code, taken above).
            op = make(opcode < 0x48 ? .inc : .dec, opcode < 0x48 ? X86_INS_INC : X86_INS_DEC, length: i)
            op.size = size
            op.dstKind = .reg
            op.dstReg = opcode & 7
            return true

        case 0xF4:
            guard !has66, rex == 0 else { return false }
            op = bare(.hlt, X86_INS_HLT, length: i)
            return true

        case 0x0F:
            guard i < available else { return false }
            let second = p[i]
            i += 1
            // 66h only on IMUL, where it sets the operand size.
            if has66 && second != 0xAF { return false }
            switch second {
            case 0x20, 0x22:
                // MOV r, CRn / MOV CRn, r (the ModRM mod bits are ignored; only mod 3 here).
                guard let modrm = registerModRM(i) else { return false }
                let cr = ((modrm >> 3) & 7) | regHigh
                guard Lowering.validControlRegister(cr) else { return false }
                let toCR = second == 0x22
                op = make(toCR ? .movToCR : .movFromCR, X86_INS_MOV, length: i + 1)
                op.cond = cr
                op.size = mode == .bits64 ? 8 : 4
                op.setRegister((modrm & 7) | rmHigh, source: toCR)
                return true
            case 0xAF:
                guard let modrm = registerModRM(i) else { return false }
                op = make(.imul2, X86_INS_IMUL, length: i + 1)
                op.size = size
                op.srcSize = size
                op.dstKind = .reg
                op.dstReg = ((modrm >> 3) & 7) | regHigh
                op.srcKind = .reg
                op.srcReg = (modrm & 7) | rmHigh
                return true
            case 0x01:
                guard let modrm = registerModRM(i) else { return false }
                if modrm == 0xC4 && rex == 0 {
                    op = bare(.vmxoff, X86_INS_VMXOFF, length: i + 1)
                    return true
                }
                // LMSW r16: 0F 01 /6.
                guard (modrm >> 3) & 7 == 6 else { return false }
                op = make(.lmsw, X86_INS_LMSW, length: i + 1)
                op.size = 2
                op.dstKind = .reg
                op.dstReg = (modrm & 7) | rmHigh
                return true
            default:
                guard rex == 0 else { return false }
                let (handler, id): (Handler, x86_insn)
                switch second {
                case 0x06: (handler, id) = (.clts, X86_INS_CLTS)
                case 0x30: (handler, id) = (.wrmsr, X86_INS_WRMSR)
                case 0x31: (handler, id) = (.rdtsc, X86_INS_RDTSC)
                case 0x32: (handler, id) = (.rdmsr, X86_INS_RDMSR)
                case 0x37: (handler, id) = (.getsec, X86_INS_GETSEC)
                case 0xA2: (handler, id) = (.cpuid, X86_INS_CPUID)
                default: return false
                }
                op = bare(handler, id, length: i)
                return true
            }

        default:
            return false
        }
    }

    /// Group 2 (shifts and rotates) by the ModRM reg field: ROL, ROR, SHL, SHR, SAR.
    private static func shiftGroup(_ modrm: UInt8) -> (Handler, x86_insn)? {
        switch (modrm >> 3) & 7 {
        case 0: (.rol, X86_INS_ROL)
        case 1: (.ror, X86_INS_ROR)
        case 4: (.shl, X86_INS_SHL)
        case 5: (.shr, X86_INS_SHR)
        case 7: (.sar, X86_INS_SAR)
        default: nil
        }
    }

    /// Marks a RIP-relative operand in `memBase` until the instruction's length is known.
    private static let ripRelative: UInt8 = 0xFE

    /// The memory operand of the ModRM byte at `at` (mod 0-2): base, index, scale, displacement
    /// and segment as Capstone plus lowering give them. Returns the offset just past the operand
    /// (SIB and displacement included), or nil. A RIP-relative operand is left with `memBase`
    /// = `ripRelative` and the displacement alone.
    private static func memoryOperand(_ p: UnsafePointer<UInt8>, available: Int, at: Int, rex: UInt8, mode: CodeMode,
                                      op: inout Op) -> Int? {
        let modrm = p[at]
        let mod = modrm >> 6, rm = modrm & 7
        var next = at + 1
        var base = Op.noRegister, index = Op.noRegister, scale: UInt8 = 1
        var dispBytes = mod == 1 ? 1 : (mod == 2 ? (mode == .bits16 ? 2 : 4) : 0)
        if mode == .bits16 {
            // [BX+SI], [BX+DI], [BP+SI], [BP+DI], [SI], [DI], [BP] (disp16 alone with mod 0), [BX].
            let bases: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (3, 3, 5, 5, 6, 7, 5, 3)
            let indexes: (UInt8, UInt8, UInt8, UInt8) = (6, 7, 6, 7)
            if mod == 0 && rm == 6 {
                dispBytes = 2
            } else {
                base = withUnsafeBytes(of: bases) { $0[Int(rm)] }
                if rm < 4 { index = withUnsafeBytes(of: indexes) { $0[Int(rm)] } }
            }
        } else if rm == 4 {
            guard next < available else { return nil }
            let sib = p[next]
            next += 1
            let sibBase = sib & 7, sibIndex = (sib >> 3) & 7
            if sibIndex != 4 { index = sibIndex | (rex & 2 != 0 ? 8 : 0) }
            scale = 1 << (sib >> 6)
            if sibBase == 5 && mod == 0 {
                dispBytes = 4
            } else {
                base = sibBase | (rex & 1 != 0 ? 8 : 0)
            }
        } else if rm == 5 && mod == 0 {
            dispBytes = 4
            if mode == .bits64 { base = ripRelative }
        } else {
            base = rm | (rex & 1 != 0 ? 8 : 0)
        }
        guard next + dispBytes <= available else { return nil }
        var disp: Int64 = 0
        switch dispBytes {
        case 1: disp = Int64(Int8(bitPattern: p[next]))
        case 2: disp = Int64(Int16(bitPattern: UInt16(p[next]) | UInt16(p[next + 1]) << 8))
        case 4:
            var v: UInt32 = 0
            for k in 0..<4 { v |= UInt32(p[next + k]) << (8 * UInt32(k)) }
            disp = Int64(Int32(bitPattern: v))
        default: break
        }
        next += dispBytes
        op.memBase = base
        op.memIndex = index
        op.memScale = scale
        op.disp = disp
        op.segment = base == 4 || base == 5 ? SegmentOverride.stack.rawValue : SegmentOverride.data.rawValue
        return next
    }

    private static let jccIDs: [x86_insn] = [
        X86_INS_JO, X86_INS_JNO, X86_INS_JB, X86_INS_JAE, X86_INS_JE, X86_INS_JNE, X86_INS_JBE, X86_INS_JA,
        X86_INS_JS, X86_INS_JNS, X86_INS_JP, X86_INS_JNP, X86_INS_JL, X86_INS_JGE, X86_INS_JLE, X86_INS_JG,
    ]
}

private extension Op {
    /// A register operand: the source (`source`) or the destination.
    mutating func setRegister(_ reg: UInt8, source: Bool) {
        if source {
            srcKind = .reg
            srcReg = reg
        } else {
            dstKind = .reg
            dstReg = reg
        }
    }
}
