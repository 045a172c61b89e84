extension Machine {
    /// Run one Op's handler, the Op where it lies (the arena, or the reference path's decode
    /// slot): no handler gets a copy of it. RIP already points past the instruction; a branch
    /// overwrites it.
    @inline(__always)
    func execute(_ op: UnsafePointer<Op>) throws(GuestException) {
        try execute(op.pointee.handler, at: op)
    }

    /// `execute` for a handler known where it is called (a threaded handler): the switch folds.
    /// Every handler takes the Op by pointer: a copy made for a call was a local whose address
    /// was taken, which put a stack protector on the caller (a generic threaded handler then
    /// calls the next handler instead of jumping to it) and, right after a decode that wrote
    /// the Op a byte at a time, was suspected of stalling on store forwarding
    /// (docs/performance.md, item 35).
    @inline(__always)
    func execute(_ handler: Handler, at op: UnsafePointer<Op>) throws(GuestException) {
        switch handler {
        case .invalidOpcode, .ud2: throw GuestException.ud
        case .unsupported: pendingStop = .unsupported
        case .mov: try mov(op)
        case .movzx: try movzx(op)
        case .movsx: try movsx(op)
        case .lea: lea(op)
        case .xchg: try xchg(op)
        case .cbw: cbw(op)
        case .cwd: cwd(op)
        case .add: try add(op)
        case .adc: try adc(op)
        case .sub: try sub(op)
        case .sbb: try sbb(op)
        case .and: try and(op)
        case .or: try or(op)
        case .xor: try xor(op)
        case .cmp: try cmp(op)
        case .test: try test(op)
        case .inc: try inc(op)
        case .dec: try dec(op)
        case .neg: try neg(op)
        case .not: try not(op)
        case .shl: try shl(op)
        case .shr: try shr(op)
        case .sar: try sar(op)
        case .rol: try rol(op)
        case .ror: try ror(op)
        case .bt: try bt(op)
        case .bts: try bts(op)
        case .btr: try btr(op)
        case .btc: try btc(op)
        case .mul: try mul(op)
        case .imul1: try imul1(op)
        case .imul2: try imul2(op)
        case .imul3: try imul3(op)
        case .div: try div(op)
        case .idiv: try idiv(op)
        case .push: try push(op)
        case .pop: try pop(op)
        case .pushf: try pushf(op)
        case .popf: try popf(op)
        case .call: try call(op)
        case .callIndirect: try callIndirect(op)
        case .ret: try ret(op)
        case .jmp: try jmp(op)
        case .jmpIndirect: try jmpIndirect(op)
        case .jcc: try jcc(op)
        case .jrcxz: try jrcxz(op)
        case .loop: try loop(op)
        case .loope: try loope(op)
        case .loopne: try loopne(op)
        case .setcc: try setcc(op)
        case .cmovcc: try cmovcc(op)
        case .nop: break
        case .hlt: try hlt(op)
        case .cli: try cli(op)
        case .sti: try sti(op)
        case .clc: clc(op)
        case .stc: stc(op)
        case .cmc: cmc(op)
        case .cld: cld(op)
        case .std: std(op)
        case .lahf: try lahf(op)
        case .sahf: try sahf(op)
        case .stos: try stos(op)
        case .movs: try movs(op)
        case .cpuid: cpuid(op)
        case .rdtsc: try rdtsc(op)
        case .rdtscp: try rdtscp(op)
        case .int3: throw GuestException.bp
        case .movToCR: try movToCR(op)
        case .movFromCR: try movFromCR(op)
        case .clts: try clts(op)
        case .lmsw: try lmsw(op)
        case .rdmsr: try rdmsr(op)
        case .wrmsr: try wrmsr(op)
        case .vmxon: try vmxon(op)
        case .vmxoff: try vmxoff(op)
        case .getsec: try getsec(op)
        // Fast forms reached in the generic loop (a hook is registered, or a limit falls inside
        // the block): the generic handlers.
        case .addRR, .addRI: try add(op)
        case .subRR, .subRI: try sub(op)
        case .andRR, .andRI: try and(op)
        case .orRR, .orRI: try or(op)
        case .xorRR, .xorRI: try xor(op)
        case .cmpRR, .cmpRI: try cmp(op)
        case .testRR, .testRI: try test(op)
        case .movRR, .movRI: try mov(op)
        case .incR: try inc(op)
        case .decR: try dec(op)
        case .jccNear: try jcc(op)
        }
    }
}
