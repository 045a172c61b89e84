/// The instruction forms the cycle model prices separately, each with the key a profile's
/// `cycleCosts` table uses for it.
///
/// The integer instructions are priced by class; the privileged ones by form, and where the SDM
/// describes work that differs by case (a MOV to CR0 that switches modes, a VMXON that fails,
/// each GETSEC leaf) by case. RDMSR and WRMSR can further be priced per MSR with the keys
/// `rdmsr NAME` and `wrmsr NAME` (NAME as the profile's MSR table spells it).
public enum CostForm: UInt16, CaseIterable, Sendable {
    // Integer classes.
    case alu, load, store, multiply, divide8, divide16, divide32, divide64
    case branchTaken, branchNotTaken, stringIteration
    case hlt, cpuid, rdtsc, rdtscp
    // Control registers.
    case movFromCR0, movFromCR2, movFromCR3, movFromCR4, movFromCR8
    case movToCR0, movToCR0ModeSwitch, movToCR2, movToCR3, movToCR3NoFlush, movToCR4, movToCR8
    case clts, lmsw
    // MSRs (per-MSR forms follow the fixed ones).
    case rdmsr, wrmsr
    // SMX, by leaf.
    case getsecCapabilities, getsecEnteraccs, getsecExitac, getsecSenter, getsecSexit, getsecParameters, getsecSmctrl, getsecWakeup
    // VMX.
    case vmxon, vmxonFail, vmxoff
    /// Delivering an exception: charged instead of the faulting instruction.
    case exception

    /// The key in a profile's `cycleCosts` and in the report's `counters.byInstruction`.
    public var key: String {
        switch self {
        case .alu: "alu"
        case .load: "load"
        case .store: "store"
        case .multiply: "mul"
        case .divide8: "div r8"
        case .divide16: "div r16"
        case .divide32: "div r32"
        case .divide64: "div r64"
        case .branchTaken: "branch taken"
        case .branchNotTaken: "branch not taken"
        case .stringIteration: "string iteration"
        case .hlt: "hlt"
        case .cpuid: "cpuid"
        case .rdtsc: "rdtsc"
        case .rdtscp: "rdtscp"
        case .movFromCR0: "mov r64, cr0"
        case .movFromCR2: "mov r64, cr2"
        case .movFromCR3: "mov r64, cr3"
        case .movFromCR4: "mov r64, cr4"
        case .movFromCR8: "mov r64, cr8"
        case .movToCR0: "mov cr0, r64"
        case .movToCR0ModeSwitch: "mov cr0, r64 [mode switch]"
        case .movToCR2: "mov cr2, r64"
        case .movToCR3: "mov cr3, r64"
        case .movToCR3NoFlush: "mov cr3, r64 [no flush]"
        case .movToCR4: "mov cr4, r64"
        case .movToCR8: "mov cr8, r64"
        case .clts: "clts"
        case .lmsw: "lmsw"
        case .rdmsr: "rdmsr"
        case .wrmsr: "wrmsr"
        case .getsecCapabilities: "getsec[capabilities]"
        case .getsecEnteraccs: "getsec[enteraccs]"
        case .getsecExitac: "getsec[exitac]"
        case .getsecSenter: "getsec[senter]"
        case .getsecSexit: "getsec[sexit]"
        case .getsecParameters: "getsec[parameters]"
        case .getsecSmctrl: "getsec[smctrl]"
        case .getsecWakeup: "getsec[wakeup]"
        case .vmxon: "vmxon"
        case .vmxonFail: "vmxon [vmfail]"
        case .vmxoff: "vmxoff"
        case .exception: "exception"
        }
    }

    /// What the form covers, for `profiles show` readers and the docs.
    public var meaning: String {
        switch self {
        case .alu: "register-only integer instruction (MOV, ALU, shifts, LEA, flag instructions, NOP)"
        case .load: "integer instruction reading memory, POP, POPF"
        case .store: "integer instruction writing memory (read-modify-write included), PUSH, PUSHF"
        case .multiply: "MUL, IMUL"
        case .divide8, .divide16, .divide32, .divide64: "DIV, IDIV by operand size"
        case .branchTaken: "JMP, CALL, RET, and Jcc/LOOP/JRCXZ when taken"
        case .branchNotTaken: "Jcc, LOOP, JRCXZ when not taken"
        case .stringIteration: "each iteration of STOS or MOVS (with or without REP)"
        case .movToCR0ModeSwitch: "MOV to CR0 that changes PE or PG"
        case .movToCR3NoFlush: "MOV to CR3 with CR4.PCIDE = 1 and bit 63 set"
        case .vmxon: "VMXON that succeeds (VMsucceed)"
        case .vmxonFail: "VMXON that ends in VMfailInvalid or VMfailValid"
        case .exception: "any instruction that raises an exception, instead of its own cost"
        default: key.uppercased()
        }
    }

    /// The forms an instruction of this handler may be charged as, for the conservative block
    /// cost used by the cycle limit.
    static func variants(of form: CostForm) -> [CostForm] {
        switch form {
        case .branchTaken, .branchNotTaken: [.branchTaken, .branchNotTaken]
        case .movToCR0: [.movToCR0, .movToCR0ModeSwitch]
        case .movToCR3: [.movToCR3, .movToCR3NoFlush]
        case .vmxon: [.vmxon, .vmxonFail]
        case .getsecCapabilities: [.getsecCapabilities, .getsecEnteraccs, .getsecExitac, .getsecSenter, .getsecSexit,
                                   .getsecParameters, .getsecSmctrl, .getsecWakeup]
        default: [form]
        }
    }
}
