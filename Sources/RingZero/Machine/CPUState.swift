/// GPR numbering in encoding order (SDM Vol. 2 Table 2-2), which is also the order Ops use.
public enum GPR: Int, Sendable, CaseIterable {
    case rax = 0, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15

    /// The register's assembler name. From a table: `"\(self)"` goes through reflection, which
    /// made building a report or applying a state file spend most of its time naming registers.
    public var name: String { Self.names[rawValue] }

    private static let names = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"]
}

/// VMX operation as the report names it.
public enum VMXOperation: String, Sendable {
    case none
    case root
}

/// VMX state of the logical processor (SDM Vol. 3C ch. 24 and the VMXON/VMXOFF pages).
public struct VMXState: Equatable, Sendable {
    public var operation: VMXOperation = .none
    /// The VMXON pointer recorded by a successful VMXON.
    public var vmxonPointer: UInt64 = 0
    /// The current-VMCS pointer; all ones means "no current VMCS".
    public var currentVMCS: UInt64 = .max
    /// Dual-monitor treatment of SMIs and SMM is active (VMXOFF then fails with error 23).
    public var dualMonitor = false
    /// The last VM-instruction error number VMfailValid recorded (the current VMCS's field 4400H).
    public var instructionError: UInt32 = 0
    public init() {}
}

/// SMX state: the SDM's GETSEC pseudocode flags.
public struct SMXState: Equatable, Sendable {
    /// SENTERFLAG: "in SMX operation" (GETSEC[SENTER] executed, GETSEC[SEXIT] not since).
    public var operation = false
    /// ACMODEFLAG: authenticated-code execution mode.
    public var authenticatedCodeMode = false
    public init() {}
}

/// External signals and the blocking that VMX and SMX impose on them.
public struct SignalState: Equatable, Sendable {
    /// The A20M# input is asserted (VMXON raises #GP(0) while it is).
    public var a20m = false
    public var initBlocked = false
    public var a20mBlocked = false
    public init() {}
}

/// The architectural register state of one logical processor.
///
/// A plain value: copying it is a snapshot. Fields are stored as the hardware holds them;
/// derived facts (mode, CPL, code size) are computed properties.
public struct CPUState: Equatable, Sendable {
    public var gpr: InlineArray<16, UInt64> = .init(repeating: 0)
    public var rip: UInt64 = 0
    public var rflags: UInt64 = RFLAGS.reserved1
    public var cs = SegmentState()
    public var ss = SegmentState()
    public var cr0: UInt64 = 0x6000_0010
    public var cr2: UInt64 = 0
    public var cr3: UInt64 = 0
    public var cr4: UInt64 = 0
    /// CR8 holds TPR[7:4]; bits 3:0 only.
    public var cr8: UInt64 = 0
    public var efer: UInt64 = 0
    public var vmx = VMXState()
    public var smx = SMXState()
    public var signals = SignalState()
    /// Whether a TXT-capable chipset is present (GETSEC[SENTER], [PARAMETERS]).
    public var txtChipset = false

    public init() {}

    public static func == (a: CPUState, b: CPUState) -> Bool {
        for i in 0..<16 where a.gpr[i] != b.gpr[i] { return false }
        return a.rip == b.rip && a.rflags == b.rflags && a.cs == b.cs && a.ss == b.ss
            && a.cr0 == b.cr0 && a.cr2 == b.cr2 && a.cr3 == b.cr3 && a.cr4 == b.cr4
            && a.cr8 == b.cr8 && a.efer == b.efer && a.vmx == b.vmx && a.smx == b.smx
            && a.signals == b.signals && a.txtChipset == b.txtChipset
    }

    public subscript(_ r: GPR) -> UInt64 {
        get { gpr[r.rawValue] }
        set { gpr[r.rawValue] = newValue }
    }

    public var mode: OperatingMode {
        OperatingMode.derive(cr0: cr0, rflags: rflags, efer: efer, csL: cs.l)
    }

    /// Current privilege level: 0 in real-address mode, 3 in virtual-8086 mode, else CS.DPL.
    public var cpl: UInt8 {
        // The same answer as deriving `mode` first, without the detour (privileged
        // instructions ask for it every time).
        if cr0 & CR0.PE == 0 { return 0 }
        if efer & EFER.LMA == 0 && rflags & RFLAGS.VM != 0 { return 3 }
        return cs.dpl
    }

    /// How the bytes at RIP decode.
    public var codeMode: CodeMode {
        switch mode {
        case .real, .v8086: .bits16
        case .long: .bits64
        case .protected, .compat: cs.d ? .bits32 : .bits16
        }
    }

    /// Stack pointer width: 64 in 64-bit mode, else SS.B.
    /// Inlined: called on the state as `Machine.state` yields it, the call took a copy of the
    /// first 246 bytes of it (a `memcpy`) each time, three times per PUSH.
    @inline(__always) var stackAddressSize: UInt8 {
        if mode == .long { return 8 }
        if mode == .real || mode == .v8086 { return 2 }
        return ss.d ? 4 : 2
    }

    var iopl: UInt8 { UInt8((rflags >> 12) & 3) }
    var in64BitMode: Bool { efer & EFER.LMA != 0 && cs.l }
    var inIA32eMode: Bool { efer & EFER.LMA != 0 }
}
