/// The throughput workloads `ringzero bench` and the package-benchmark suite run: the loops the
/// project is judged by (64-bit mode, CPL 0), a cold-code fuzzing workload, the decoder on its
/// own, and snapshot restores.
public enum Workload: String, CaseIterable, Sendable {
    /// `add rax, rbx; xor rdx, rax; sub rbx, 3; dec rcx; jnz loop` (5 instructions per iteration).
    case alu = "w1-alu"
    /// `mov rax, cr4; xor rax, 4; mov cr4, rax; clts; mov rdx, cr0; lmsw dx; dec rcx; jnz loop` (8).
    case cr = "w2-cr"
    /// `mov ecx, 0x174; rdmsr; xor eax, 1; wrmsr; dec r8; jnz loop` (6).
    case msr = "w3-msr"
    /// After a VMX-enable prologue: `vmxon [ptr]; vmxoff; dec r8; jnz loop` (4).
    case vmx = "w4-vmx"
    /// A fresh 16-instruction sequence per execution (new bytes, so nothing is cached), the
    /// machine reset from a snapshot between executions; measured in executions per second.
    case cold = "w5-cold"
    /// Capstone decoding plus lowering to Ops, per instruction: the yardstick for the cache.
    case decode = "w6-decode"
    /// Restoring a 16 MiB guest's snapshot after dirtying one page.
    case restore1 = "restore-1-page"
    /// Restoring a 16 MiB guest's snapshot after dirtying 64 pages.
    case restore64 = "restore-64-pages"

    /// The workloads `ringzero bench` runs when none is named.
    public static let standard: [Workload] = [.alu, .cr, .msr, .vmx, .cold, .decode, .restore1, .restore64]

    /// Guest instructions per loop iteration (nil for the workloads measured per execution).
    public var instructionsPerIteration: Int? {
        switch self {
        case .alu: 5
        case .cr: 8
        case .msr: 6
        case .vmx: 4
        case .cold, .decode, .restore1, .restore64: nil
        }
    }

    /// The loop's machine code, loaded at 0x1000 (empty for the workloads that are not loops);
    /// the runner sets `counter` to the number of iterations.
    public var loop: [UInt8] {
        switch self {
        case .alu:
            [0x48, 0x01, 0xD8,             // add rax, rbx
             0x48, 0x31, 0xC2,             // xor rdx, rax
             0x48, 0x83, 0xEB, 0x03,       // sub rbx, 3
             0x48, 0xFF, 0xC9,             // dec rcx
             0x75, 0xF1,                   // jnz loop
             0xF4]                         // hlt
        case .cr:
            [0x0F, 0x20, 0xE0,             // mov rax, cr4
             0x48, 0x83, 0xF0, 0x04,       // xor rax, 4 (CR4.TSD)
             0x0F, 0x22, 0xE0,             // mov cr4, rax
             0x0F, 0x06,                   // clts
             0x0F, 0x20, 0xC2,             // mov rdx, cr0
             0x0F, 0x01, 0xF2,             // lmsw dx
             0x48, 0xFF, 0xC9,             // dec rcx
             0x75, 0xE9,                   // jnz loop
             0xF4]
        case .msr:
            [0xB9, 0x74, 0x01, 0x00, 0x00, // mov ecx, 0x174 (IA32_SYSENTER_CS)
             0x0F, 0x32,                   // rdmsr
             0x83, 0xF0, 0x01,             // xor eax, 1
             0x0F, 0x30,                   // wrmsr
             0x49, 0xFF, 0xC8,             // dec r8
             0x75, 0xEF,                   // jnz loop
             0xF4]
        case .vmx:
            [0xF3, 0x0F, 0xC7, 0x34, 0x25, 0x00, 0x20, 0x00, 0x00, // vmxon [0x2000]
             0x0F, 0x01, 0xC4,             // vmxoff
             0x49, 0xFF, 0xC8,             // dec r8
             0x75, 0xEF,                   // jnz loop
             0xF4]
        case .cold, .decode, .restore1, .restore64:
            []
        }
    }

    /// The register the loop counts down in.
    public var counter: GPR { self == .msr || self == .vmx ? .r8 : .rcx }

    /// Set `machine` up to run the loop: 64-bit mode at CPL 0, the loop at 0x1000 and RIP there;
    /// for W4 the VMX-enable prologue too, done as setup (IA32_FEATURE_CONTROL locked with VMX
    /// enabled, CR4.VMXE, and a VMXON region at 0x3000 carrying the profile's revision
    /// identifier, its pointer at 0x2000). Set `counter` to the iterations, then run to HLT.
    public func prepare(_ machine: Machine) {
        machine.load(loop, at: 0x1000)
        machine.state = MachineSetup.defaults(for: .long, memorySize: machine.memory.size, profile: machine.profile)
        machine.state.rip = 0x1000
        guard self == .vmx else { return }
        machine.setMSR(MSRIndex.IA32_FEATURE_CONTROL, 0x5)
        machine.state.cr4 |= CR4.VMXE
        machine.load(withUnsafeBytes(of: UInt64(0x3000).littleEndian) { Array($0) }, at: 0x2000)
        let revision = UInt32(truncatingIfNeeded: machine.msrValue(MSRIndex.IA32_VMX_BASIC) ?? 0) & 0x7FFF_FFFF
        machine.load(withUnsafeBytes(of: revision.littleEndian) { Array($0) }, at: 0x3000)
    }
}
