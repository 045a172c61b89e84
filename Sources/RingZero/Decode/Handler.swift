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

    /// Whether the Op ends a block: control flow, and instructions that can change how later
    /// bytes decode (mode switches) or stop the run.
    var endsBlock: Bool {
        switch self {
        case .call, .callIndirect, .ret, .jmp, .jmpIndirect, .jcc, .jrcxz, .loop, .loope, .loopne,
             .hlt, .unsupported, .movToCR, .lmsw, .wrmsr, .getsec, .vmxon, .vmxoff, .popf, .invalidOpcode, .ud2, .int3:
            true
        default:
            false
        }
    }
}
