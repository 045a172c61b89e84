import CCapstone

/// Turns Capstone's detailed record of one instruction into an `Op`.
///
/// Capstone decides lengths, prefixes and operands; this file decides which handler runs and
/// applies the decode-time #UD rules Capstone does not know (control registers that do not
/// exist, LOCK on instructions that cannot take it, mandatory-prefix violations), and works
/// around Capstone 4.0.2's misdecoding of the 0F C7 group in 16-bit code.
struct Lowering {
    let insn: cs_insn
    let x86: cs_x86
    let operands: [cs_x86_op]
    let mode: CodeMode

    init(_ insnPointer: UnsafePointer<cs_insn>, mode: CodeMode) {
        insn = insnPointer.pointee
        x86 = insn.detail.pointee.x86
        let count = Int(x86.op_count)
        operands = withUnsafeBytes(of: x86.operands) { raw in
            Array(raw.bindMemory(to: cs_x86_op.self).prefix(count))
        }
        self.mode = mode
    }

    var rawBytes: [UInt8] {
        withUnsafeBytes(of: insn.bytes) { Array($0.prefix(Int(insn.size))) }
    }

    /// Whether an F0h byte is among the legacy prefixes, read without allocating.
    var hasLockPrefixByte: Bool {
        withUnsafeBytes(of: insn.bytes) { raw in
            for b in raw.prefix(Int(insn.size)) {
                if b == 0xF0 { return true }
                switch b {
                case 0xF2, 0xF3, 0x2E, 0x36, 0x3E, 0x26, 0x64, 0x65, 0x66, 0x67: continue
                default: return false
                }
            }
            return false
        }
    }

    /// The legacy prefixes in front of the opcode, read from the raw bytes (Capstone does not
    /// report every prefix it accepts and then ignores): the set of prefix bytes, the last of
    /// F2h/F3h (the one that acts as a mandatory prefix), and the index of the byte after them.
    struct LegacyPrefixes {
        var bytes: Set<UInt8> = []
        var lastRepeat: UInt8?
        var end = 0
    }

    static let legacyPrefixBytes: Set<UInt8> = [0xF0, 0xF2, 0xF3, 0x2E, 0x36, 0x3E, 0x26, 0x64, 0x65, 0x66, 0x67]

    var legacyPrefixes: LegacyPrefixes {
        var found = LegacyPrefixes()
        for b in rawBytes {
            guard Self.legacyPrefixBytes.contains(b) else { break }
            found.bytes.insert(b)
            if b == 0xF2 || b == 0xF3 { found.lastRepeat = b }
            found.end += 1
        }
        return found
    }

    /// The Op for this instruction.
    /// `fastForms`: give the register-only forms of the commonest instructions their fast
    /// handlers (off on the reference path, which so checks them against the generic ones).
    func lower(costs: CostModel, fastForms: Bool = false) -> Op {
        var op = Op(handler: .unsupported, address: insn.address, length: UInt8(insn.size), codeMode: mode)
        op.instructionID = insn.id
        op.addressSize = x86.addr_size
        switch x86.prefix.0 {
        case 0xF0: op.prefixes |= Op.prefixLock
        case 0xF3: op.prefixes |= Op.prefixRep
        case 0xF2: op.prefixes |= Op.prefixRepne
        default: break
        }
        // Capstone keeps one group-1 prefix; with LOCK and a mandatory F3 (LOCK VMXON) it keeps
        // the F3, so look for LOCK among the raw prefix bytes as well.
        if op.prefixes & Op.prefixLock == 0 && hasLockPrefixByte { op.prefixes |= Op.prefixLock }
        lowerOperation(&op)
        if op.prefixes & Op.prefixLock != 0 && !lockAllowed(op) {
            op.handler = .invalidOpcode
        }
        if fastForms, let fast = Self.fastForm(of: op) { op.handler = fast }
        costs.price(&op)
        return op
    }

    /// The fast handler for an Op, if it has the register-only 32- or 64-bit form one covers
    /// (and, for Jcc, a 64-bit-mode target that is canonical, so it cannot fault).
    @inline(__always) static func fastForm(of op: Op) -> Handler? {
        guard op.prefixes == 0 else { return nil }
        if op.handler == .jcc {
            let target = UInt64(bitPattern: op.imm)
            let upper = Int64(bitPattern: target) >> 47
            return op.codeMode == .bits64 && op.size == 8 && (upper == 0 || upper == -1) ? .jccNear : nil
        }
        guard op.size == 8 || op.size == 4, op.dstKind == .reg else { return nil }
        let rr = op.srcKind == .reg && op.srcSize == op.size
        let ri = op.srcKind == .imm
        switch op.handler {
        case .add: return rr ? .addRR : ri ? .addRI : nil
        case .sub: return rr ? .subRR : ri ? .subRI : nil
        case .and: return rr ? .andRR : ri ? .andRI : nil
        case .or: return rr ? .orRR : ri ? .orRI : nil
        case .xor: return rr ? .xorRR : ri ? .xorRI : nil
        case .cmp: return rr ? .cmpRR : ri ? .cmpRI : nil
        case .test: return rr ? .testRR : ri ? .testRI : nil
        case .mov: return rr ? .movRR : ri ? .movRI : nil
        case .inc: return op.srcKind == .none ? .incR : nil
        case .dec: return op.srcKind == .none ? .decR : nil
        default: return nil
        }
    }

    /// LOCK is legal only on the read-modify-write instructions with a memory destination
    /// (SDM Vol. 2 "LOCK"); anything else raises #UD.
    private func lockAllowed(_ op: Op) -> Bool {
        guard op.dstKind == .mem else { return false }
        switch op.handler {
        case .add, .adc, .sub, .sbb, .and, .or, .xor, .inc, .dec, .neg, .not, .bts, .btr, .btc, .xchg: return true
        default: return false
        }
    }

    /// Operand size of stack and near-branch instructions, which Capstone does not always report
    /// for immediates: 64 in 64-bit mode (66h gives 16), else the code size toggled by 66h.
    private var stackOperandSize: UInt8 {
        let has66 = x86.prefix.2 == 0x66
        switch mode {
        case .bits64: return has66 ? 2 : 8
        case .bits32: return has66 ? 2 : 4
        case .bits16: return has66 ? 4 : 2
        }
    }

    private func setOperand(_ op: inout Op, _ source: cs_x86_op, asDestination: Bool) -> Bool {
        let kind: OperandKind
        var reg: UInt8 = 0
        switch source.type {
        case X86_OP_REG:
            guard case .gpr(let index, _, let high8) = mapRegister(source.reg) else { return false }
            kind = high8 ? .regHigh8 : .reg
            reg = index
        case X86_OP_MEM:
            guard setMemory(&op, source.mem) else { return false }
            kind = .mem
        case X86_OP_IMM:
            kind = .imm
            op.imm = source.imm
        default:
            return false
        }
        if asDestination {
            op.dstKind = kind
            op.dstReg = reg
        } else {
            op.srcKind = kind
            op.srcReg = reg
        }
        return true
    }

    private func setMemory(_ op: inout Op, _ mem: x86_op_mem) -> Bool {
        op.disp = mem.disp
        op.memScale = UInt8(truncatingIfNeeded: max(mem.scale, 1))
        var baseIsStack = false
        switch mapRegister(mem.base) {
        case .gpr(let index, _, _):
            op.memBase = index
            baseIsStack = index == UInt8(GPR.rsp.rawValue) || index == UInt8(GPR.rbp.rawValue)
        case .rip:
            // RIP-relative: the address is fixed once the instruction's address is.
            let target = UInt64(bitPattern: mem.disp) &+ insn.address &+ UInt64(insn.size)
            op.disp = Int64(bitPattern: x86.addr_size == 4 ? target & 0xFFFF_FFFF : target)
            op.memBase = Op.noRegister
        default:
            if mem.base != X86_REG_INVALID { return false }
        }
        switch mapRegister(mem.index) {
        case .gpr(let index, _, _): op.memIndex = index
        default: if mem.index != X86_REG_INVALID { return false }
        }
        switch mem.segment {
        case X86_REG_FS: op.segment = SegmentOverride.fs.rawValue
        case X86_REG_GS: op.segment = SegmentOverride.gs.rawValue
        case X86_REG_SS: op.segment = SegmentOverride.stack.rawValue
        case X86_REG_INVALID: op.segment = baseIsStack ? SegmentOverride.stack.rawValue : SegmentOverride.data.rawValue
        default: op.segment = SegmentOverride.data.rawValue
        }
        return true
    }

    /// Destination from operand 0 and source from operand 1, sized by operand 0.
    private func binary(_ op: inout Op, _ handler: Handler) {
        guard operands.count == 2,
              setOperand(&op, operands[0], asDestination: true),
              setOperand(&op, operands[1], asDestination: false) else { return }
        op.size = operands[0].size
        op.srcSize = operands[1].size
        op.handler = handler
    }

    private func unary(_ op: inout Op, _ handler: Handler) {
        guard operands.count == 1, setOperand(&op, operands[0], asDestination: true) else { return }
        op.size = operands[0].size
        op.handler = handler
    }

    private func noOperands(_ op: inout Op, _ handler: Handler) {
        op.handler = handler
        op.size = UInt8(mode.bits / 8)
    }

    private func conditional(_ op: inout Op, _ handler: Handler, _ cond: UInt8) {
        switch handler {
        case .jcc:
            guard operands.count == 1, operands[0].type == X86_OP_IMM else { return }
            op.imm = operands[0].imm
            op.size = stackOperandSize
            op.handler = .jcc
        case .setcc:
            unary(&op, .setcc)
        default:
            binary(&op, .cmovcc)
        }
        op.cond = cond
    }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    private func lowerOperation(_ op: inout Op) {
        if lowerGroup0FC7(&op) { return }
        let id = x86_insn(rawValue: insn.id)
        switch id {
        case X86_INS_MOV, X86_INS_MOVABS: lowerMov(&op)
        case X86_INS_MOVZX: binary(&op, .movzx)
        case X86_INS_MOVSX, X86_INS_MOVSXD: binary(&op, .movsx)
        case X86_INS_LEA: binary(&op, .lea)
        case X86_INS_XCHG: binary(&op, .xchg)
        case X86_INS_CBW: noOperands(&op, .cbw); op.size = 2
        case X86_INS_CWDE: noOperands(&op, .cbw); op.size = 4
        case X86_INS_CDQE: noOperands(&op, .cbw); op.size = 8
        case X86_INS_CWD: noOperands(&op, .cwd); op.size = 2
        case X86_INS_CDQ: noOperands(&op, .cwd); op.size = 4
        case X86_INS_CQO: noOperands(&op, .cwd); op.size = 8
        case X86_INS_ADD: binary(&op, .add)
        case X86_INS_ADC: binary(&op, .adc)
        case X86_INS_SUB: binary(&op, .sub)
        case X86_INS_SBB: binary(&op, .sbb)
        case X86_INS_AND: binary(&op, .and)
        case X86_INS_OR: binary(&op, .or)
        case X86_INS_XOR: binary(&op, .xor)
        case X86_INS_CMP: binary(&op, .cmp)
        case X86_INS_TEST: binary(&op, .test)
        case X86_INS_INC: unary(&op, .inc)
        case X86_INS_DEC: unary(&op, .dec)
        case X86_INS_NEG: unary(&op, .neg)
        case X86_INS_NOT: unary(&op, .not)
        case X86_INS_SHL, X86_INS_SAL: lowerShift(&op, .shl)
        case X86_INS_SHR: lowerShift(&op, .shr)
        case X86_INS_SAR: lowerShift(&op, .sar)
        case X86_INS_ROL: lowerShift(&op, .rol)
        case X86_INS_ROR: lowerShift(&op, .ror)
        case X86_INS_BT: binary(&op, .bt)
        case X86_INS_BTS: binary(&op, .bts)
        case X86_INS_BTR: binary(&op, .btr)
        case X86_INS_BTC: binary(&op, .btc)
        case X86_INS_MUL: unary(&op, .mul)
        case X86_INS_DIV: unary(&op, .div)
        case X86_INS_IDIV: unary(&op, .idiv)
        case X86_INS_IMUL: lowerImul(&op)
        case X86_INS_PUSH: lowerPushPop(&op, .push)
        case X86_INS_POP: lowerPushPop(&op, .pop)
        case X86_INS_PUSHF: noOperands(&op, .pushf); op.size = 2
        case X86_INS_PUSHAL, X86_INS_PUSHAW, X86_INS_POPAL, X86_INS_POPAW: break
        case X86_INS_PUSHFD: noOperands(&op, .pushf); op.size = 4
        case X86_INS_PUSHFQ: noOperands(&op, .pushf); op.size = 8
        case X86_INS_POPF: noOperands(&op, .popf); op.size = 2
        case X86_INS_POPFD: noOperands(&op, .popf); op.size = 4
        case X86_INS_POPFQ: noOperands(&op, .popf); op.size = 8
        case X86_INS_CALL: lowerBranch(&op, direct: .call, indirect: .callIndirect)
        case X86_INS_JMP: lowerBranch(&op, direct: .jmp, indirect: .jmpIndirect)
        case X86_INS_RET:
            op.handler = .ret
            op.size = stackOperandSize
            if operands.count == 1 { op.imm = operands[0].imm & 0xFFFF }
        case X86_INS_JO: conditional(&op, .jcc, 0)
        case X86_INS_JNO: conditional(&op, .jcc, 1)
        case X86_INS_JB: conditional(&op, .jcc, 2)
        case X86_INS_JAE: conditional(&op, .jcc, 3)
        case X86_INS_JE: conditional(&op, .jcc, 4)
        case X86_INS_JNE: conditional(&op, .jcc, 5)
        case X86_INS_JBE: conditional(&op, .jcc, 6)
        case X86_INS_JA: conditional(&op, .jcc, 7)
        case X86_INS_JS: conditional(&op, .jcc, 8)
        case X86_INS_JNS: conditional(&op, .jcc, 9)
        case X86_INS_JP: conditional(&op, .jcc, 10)
        case X86_INS_JNP: conditional(&op, .jcc, 11)
        case X86_INS_JL: conditional(&op, .jcc, 12)
        case X86_INS_JGE: conditional(&op, .jcc, 13)
        case X86_INS_JLE: conditional(&op, .jcc, 14)
        case X86_INS_JG: conditional(&op, .jcc, 15)
        case X86_INS_SETO: conditional(&op, .setcc, 0)
        case X86_INS_SETNO: conditional(&op, .setcc, 1)
        case X86_INS_SETB: conditional(&op, .setcc, 2)
        case X86_INS_SETAE: conditional(&op, .setcc, 3)
        case X86_INS_SETE: conditional(&op, .setcc, 4)
        case X86_INS_SETNE: conditional(&op, .setcc, 5)
        case X86_INS_SETBE: conditional(&op, .setcc, 6)
        case X86_INS_SETA: conditional(&op, .setcc, 7)
        case X86_INS_SETS: conditional(&op, .setcc, 8)
        case X86_INS_SETNS: conditional(&op, .setcc, 9)
        case X86_INS_SETP: conditional(&op, .setcc, 10)
        case X86_INS_SETNP: conditional(&op, .setcc, 11)
        case X86_INS_SETL: conditional(&op, .setcc, 12)
        case X86_INS_SETGE: conditional(&op, .setcc, 13)
        case X86_INS_SETLE: conditional(&op, .setcc, 14)
        case X86_INS_SETG: conditional(&op, .setcc, 15)
        case X86_INS_CMOVO: conditional(&op, .cmovcc, 0)
        case X86_INS_CMOVNO: conditional(&op, .cmovcc, 1)
        case X86_INS_CMOVB: conditional(&op, .cmovcc, 2)
        case X86_INS_CMOVAE: conditional(&op, .cmovcc, 3)
        case X86_INS_CMOVE: conditional(&op, .cmovcc, 4)
        case X86_INS_CMOVNE: conditional(&op, .cmovcc, 5)
        case X86_INS_CMOVBE: conditional(&op, .cmovcc, 6)
        case X86_INS_CMOVA: conditional(&op, .cmovcc, 7)
        case X86_INS_CMOVS: conditional(&op, .cmovcc, 8)
        case X86_INS_CMOVNS: conditional(&op, .cmovcc, 9)
        case X86_INS_CMOVP: conditional(&op, .cmovcc, 10)
        case X86_INS_CMOVNP: conditional(&op, .cmovcc, 11)
        case X86_INS_CMOVL: conditional(&op, .cmovcc, 12)
        case X86_INS_CMOVGE: conditional(&op, .cmovcc, 13)
        case X86_INS_CMOVLE: conditional(&op, .cmovcc, 14)
        case X86_INS_CMOVG: conditional(&op, .cmovcc, 15)
        case X86_INS_JCXZ: lowerCountBranch(&op, .jrcxz, counterSize: 2)
        case X86_INS_JECXZ: lowerCountBranch(&op, .jrcxz, counterSize: 4)
        case X86_INS_JRCXZ: lowerCountBranch(&op, .jrcxz, counterSize: 8)
        case X86_INS_LOOP: lowerCountBranch(&op, .loop, counterSize: x86.addr_size)
        case X86_INS_LOOPE: lowerCountBranch(&op, .loope, counterSize: x86.addr_size)
        case X86_INS_LOOPNE: lowerCountBranch(&op, .loopne, counterSize: x86.addr_size)
        case X86_INS_NOP: noOperands(&op, .nop)
        case X86_INS_HLT: noOperands(&op, .hlt)
        case X86_INS_CLI: noOperands(&op, .cli)
        case X86_INS_STI: noOperands(&op, .sti)
        case X86_INS_CLC: noOperands(&op, .clc)
        case X86_INS_STC: noOperands(&op, .stc)
        case X86_INS_CMC: noOperands(&op, .cmc)
        case X86_INS_CLD: noOperands(&op, .cld)
        case X86_INS_STD: noOperands(&op, .std)
        case X86_INS_LAHF: noOperands(&op, .lahf)
        case X86_INS_SAHF: noOperands(&op, .sahf)
        case X86_INS_STOSB: lowerString(&op, .stos, 1)
        case X86_INS_STOSW: lowerString(&op, .stos, 2)
        case X86_INS_STOSD: lowerString(&op, .stos, 4)
        case X86_INS_STOSQ: lowerString(&op, .stos, 8)
        case X86_INS_MOVSB: lowerString(&op, .movs, 1)
        case X86_INS_MOVSW: lowerString(&op, .movs, 2)
        case X86_INS_MOVSD: lowerString(&op, .movs, 4)
        case X86_INS_MOVSQ: lowerString(&op, .movs, 8)
        case X86_INS_CPUID: noOperands(&op, .cpuid)
        case X86_INS_RDTSC: noOperands(&op, .rdtsc)
        case X86_INS_RDTSCP: noOperands(&op, .rdtscp)
        case X86_INS_UD2: noOperands(&op, .ud2)
        case X86_INS_INT3: noOperands(&op, .int3)
        case X86_INS_CLTS: noOperands(&op, .clts)
        case X86_INS_RDMSR: noOperands(&op, .rdmsr)
        case X86_INS_WRMSR: noOperands(&op, .wrmsr)
        case X86_INS_VMXOFF: noOperands(&op, .vmxoff)
        case X86_INS_GETSEC:
            noOperands(&op, .getsec)
            // GETSEC is NP 0F 37: a 66h, F2h or F3h prefix makes it #UD.
            if !legacyPrefixes.bytes.isDisjoint(with: [0x66, 0xF2, 0xF3]) { op.handler = .invalidOpcode }
        case X86_INS_LMSW:
            unary(&op, .lmsw)
            op.size = 2
        default:
            break
        }
    }

    private func lowerMov(_ op: inout Op) {
        guard operands.count == 2 else { return }
        let (a, b) = (operands[0], operands[1])
        if a.type == X86_OP_REG, case .controlRegister(let n) = mapRegister(a.reg) {
            guard b.type == X86_OP_REG, case .gpr(let index, _, _) = mapRegister(b.reg) else { return }
            op.handler = Self.validControlRegister(n) ? .movToCR : .invalidOpcode
            op.cond = n
            op.srcKind = .reg
            op.srcReg = index
            op.size = mode == .bits64 ? 8 : 4
            return
        }
        if b.type == X86_OP_REG, case .controlRegister(let n) = mapRegister(b.reg) {
            guard a.type == X86_OP_REG, case .gpr(let index, _, _) = mapRegister(a.reg) else { return }
            op.handler = Self.validControlRegister(n) ? .movFromCR : .invalidOpcode
            op.cond = n
            op.dstKind = .reg
            op.dstReg = index
            op.size = mode == .bits64 ? 8 : 4
            return
        }
        binary(&op, .mov)
    }

    /// CR0, CR2, CR3, CR4 and CR8 exist; every other number raises #UD (SDM MOV CR).
    static func validControlRegister(_ n: UInt8) -> Bool { n == 0 || n == 2 || n == 3 || n == 4 || n == 8 }

    private func lowerShift(_ op: inout Op, _ handler: Handler) {
        if operands.count == 1 {
            guard setOperand(&op, operands[0], asDestination: true) else { return }
            op.size = operands[0].size
            op.srcKind = .imm
            op.imm = 1
            op.handler = handler
        } else {
            binary(&op, handler)
        }
    }

    private func lowerImul(_ op: inout Op) {
        switch operands.count {
        case 1: unary(&op, .imul1)
        case 2: binary(&op, .imul2)
        case 3:
            guard setOperand(&op, operands[0], asDestination: true),
                  setOperand(&op, operands[1], asDestination: false),
                  operands[2].type == X86_OP_IMM else { return }
            op.imm = operands[2].imm
            op.size = operands[0].size
            op.handler = .imul3
        default: break
        }
    }

    private func lowerPushPop(_ op: inout Op, _ handler: Handler) {
        guard operands.count == 1 else { return }
        if operands[0].type == X86_OP_REG, case .segment = mapRegister(operands[0].reg) { return }
        guard setOperand(&op, operands[0], asDestination: handler == .pop) else { return }
        if handler == .push {
            // The pushed value is the source.
            op.dstKind = .none
        }
        op.size = operands[0].type == X86_OP_IMM ? stackOperandSize : operands[0].size
        op.handler = handler
    }

    private func lowerBranch(_ op: inout Op, direct: Handler, indirect: Handler) {
        guard operands.count == 1 else { return }
        op.size = stackOperandSize
        if operands[0].type == X86_OP_IMM {
            op.imm = operands[0].imm
            op.handler = direct
        } else {
            guard setOperand(&op, operands[0], asDestination: false) else { return }
            op.srcSize = operands[0].size
            // A far (segment:offset) form has a 6- or 10-byte memory operand: not implemented.
            if operands[0].type == X86_OP_MEM && operands[0].size != op.size { return }
            op.handler = indirect
        }
    }

    private func lowerCountBranch(_ op: inout Op, _ handler: Handler, counterSize: UInt8) {
        guard operands.count == 1, operands[0].type == X86_OP_IMM else { return }
        op.imm = operands[0].imm
        op.size = stackOperandSize
        op.srcSize = counterSize
        op.handler = handler
    }

    private func lowerString(_ op: inout Op, _ handler: Handler, _ element: UInt8) {
        // MOVSD is also the SSE2 scalar move; that form has XMM operands.
        for o in operands where o.type == X86_OP_REG {
            guard case .gpr = mapRegister(o.reg) else { return }
        }
        op.handler = handler
        op.size = element
        op.segment = SegmentOverride.data.rawValue
        for o in operands where o.type == X86_OP_MEM {
            switch o.mem.segment {
            case X86_REG_FS: op.segment = SegmentOverride.fs.rawValue
            case X86_REG_GS: op.segment = SegmentOverride.gs.rawValue
            default: break
            }
        }
    }

    /// The 0F C7 group (SDM Vol. 2 Table A-6, group 9) decoded from the raw bytes: Capstone
    /// 4.0.2 returns VMPTRLD for F3 0F C7 /6 (VMXON) in 16-bit code and `rdrand` for its
    /// register form, so the mnemonic cannot be trusted here.
    private func lowerGroup0FC7(_ op: inout Op) -> Bool {
        let bytes = rawBytes
        let prefixes = legacyPrefixes
        var i = prefixes.end
        let hasF3 = prefixes.lastRepeat == 0xF3
        if mode == .bits64, i < bytes.count, bytes[i] & 0xF0 == 0x40 { i += 1 }
        guard i + 2 < bytes.count, bytes[i] == 0x0F, bytes[i + 1] == 0xC7 else { return false }
        let modrm = bytes[i + 2]
        guard (modrm >> 3) & 7 == 6, hasF3 else { return false }
        if modrm >> 6 == 3 {
            // VMXON with a register operand: #UD (SDM VMXON).
            op.handler = .invalidOpcode
            return true
        }
        guard let memOperand = operands.first(where: { $0.type == X86_OP_MEM }), setMemory(&op, memOperand.mem) else {
            return false
        }
        op.srcKind = .mem
        op.size = 8
        op.handler = .vmxon
        return true
    }
}
