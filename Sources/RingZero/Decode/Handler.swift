/// Every instruction form the interpreter executes. One case per handler; the dispatch switch
/// over this enum compiles to a jump table.
public enum Handler: UInt8, Sendable, CaseIterable {
    // Raised for bytes that decode to an instruction form the SDM says faults with #UD.
    case invalidOpcode
    // Capstone knows the instruction but RingZero does not implement it: the run stops.
    case unsupported
    // Data movement
    case mov, movzx, movsx, lea, xchg, cbw, cwd
    // Arithmetic and logic
    case add, adc, sub, sbb, and, or, xor, cmp, test, inc, dec, neg, not
    case shl, shr, sar, rol, ror
    case bt, bts, btr, btc
    case mul, imul1, imul2, imul3, div, idiv
    // Stack
    case push, pop, pushf, popf
    // Control flow
    case call, callIndirect, ret, jmp, jmpIndirect, jcc, jrcxz, loop, loope, loopne
    case setcc, cmovcc
    // Flags and simple system
    case nop, hlt, cli, sti, clc, stc, cmc, cld, std, lahf, sahf
    case stos, movs
    case cpuid, rdtsc, rdtscp, ud2, int3
    // The privileged families of the mission
    case movToCR, movFromCR, clts, lmsw, rdmsr, wrmsr, getsec, vmxon, vmxoff
    // Register-only 32- and 64-bit forms of the commonest integer instructions, each with a
    // threaded handler of its own (FastPaths.swift, ThreadedHandlers.swift). Each means exactly
    // what its generic handler does; the reference path never produces them, so it checks them.
    case addRR, addRI, subRR, subRI, andRR, andRI, orRR, orRI, xorRR, xorRI, cmpRR, cmpRI, testRR, testRI
    case movRR, movRI, incR, decR, jccNear

    /// Whether the handler reads the instruction or cycle counters (the TSC, a REP budget), so
    /// its threaded handler must say what the loop counted ahead of it.
    var readsCounters: Bool {
        switch self {
        case .rdtsc, .rdtscp, .rdmsr, .wrmsr, .stos, .movs: true
        default: false
        }
    }

    /// The mission's register-only instructions: they never store to guest memory (so they
    /// cannot rewrite code), never read RIP (a memory operand's RIP-relative address is
    /// resolved at decode) and never ask to stop but through a hook. Their threaded handlers
    /// skip storing RIP and checking for those; any other handler is checked.
    var registerOnly: Bool {
        switch self {
        case .movToCR, .movFromCR, .clts, .lmsw, .rdmsr, .wrmsr, .vmxon, .vmxoff: true
        default: false
        }
    }

    /// The fast forms that close loops (`dec rcx; jnz`, `cmp; jb`, `test; jz`, `sub; jnz`):
    /// their threaded handlers run a closing Jcc right after them themselves. The others leave
    /// it to the Jcc's own handler, which keeps theirs small (no call, so no registers to save).
    var setsLoopCondition: Bool {
        switch self {
        case .decR, .incR, .cmpRR, .cmpRI, .testRR, .testRI, .subRR, .subRI: true
        default: false
        }
    }

    /// Whether this is a fast form (they are the last cases of the enum).
    @inline(__always) var isFast: Bool { rawValue >= Handler.addRR.rawValue }

    /// The generic handler a fast form stands for (itself for every other handler): what a
    /// before-instruction hook should look at to know which instruction runs.
    public var generic: Handler {
        switch self {
        case .addRR, .addRI: .add
        case .subRR, .subRI: .sub
        case .andRR, .andRI: .and
        case .orRR, .orRI: .or
        case .xorRR, .xorRI: .xor
        case .cmpRR, .cmpRI: .cmp
        case .testRR, .testRI: .test
        case .movRR, .movRI: .mov
        case .incR: .inc
        case .decR: .dec
        case .jccNear: .jcc
        default: self
        }
    }

    /// Whether the Op ends a block: control flow, the instructions that can change the code
    /// mode the following bytes decode in (GETSEC through CS, POPF through RFLAGS.VM; MOV to
    /// CR0 and LMSW are decided per Op, `Op.endsBlock`), and those that stop the run or always
    /// fault. Decoding depends on nothing else (the bytes and the code mode), so MOV to
    /// CR2/CR3/CR4/CR8, WRMSR (IA32_EFER.LMA is read-only), VMXON and VMXOFF do not end
    /// blocks.
    @inline(__always) var endsBlock: Bool { Self.endsBlockTable[Int(rawValue)] }

    /// `endsBlock` for every handler, by raw value (256 entries): `decodeBlock` reads it for
    /// every Op, where the switch compiled to a jump through a table of addresses, taken at
    /// random on the fuzzer's code. Also kept in `MachineCore`, read there without the lazy
    /// global's check.
    nonisolated(unsafe) static let endsBlockTable: UnsafeMutablePointer<Bool> = {
        let table = UnsafeMutablePointer<Bool>.allocate(capacity: 256)
        table.initialize(repeating: false, count: 256)
        for handler in Handler.allCases { table[Int(handler.rawValue)] = handler.endsBlockBySwitch }
        return table
    }()

    private var endsBlockBySwitch: Bool {
        switch self {
        case .call, .callIndirect, .ret, .jmp, .jmpIndirect, .jcc, .jrcxz, .loop, .loope, .loopne,
             .hlt, .unsupported, .getsec, .popf, .invalidOpcode, .ud2, .int3,
             .jccNear:
            true
        default:
            false
        }
    }
}
