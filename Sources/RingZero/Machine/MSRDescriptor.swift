/// Behaviour an MSR has beyond its masks, handled by name in the WRMSR/RDMSR semantics.
public enum MSRRule: String, Sendable, CaseIterable {
    /// Only the masks, the lock bit and the canonical check apply.
    case plain
    /// IA32_EFER: held in `CPUState.efer`; LME may not change while CR0.PG = 1.
    case efer
    /// IA32_TIME_STAMP_COUNTER: reads and writes go to the cycle counter plus the TSC offset.
    case timeStampCounter
    /// IA32_TSC_ADJUST: a write that adds X to it adds X to the TSC, and a WRMSR to the TSC that
    /// adds X to the TSC adds X to it (SDM Vol. 3B §18.17.3).
    case tscAdjust
    /// IA32_APIC_BASE: x2APIC enable (EXTD) transitions are checked (SDM Vol. 3A §11.12.5).
    case apicBase
    /// IA32_PAT: every byte must name a valid memory type (SDM Vol. 3A §12.12.2).
    case pat
    /// IA32_SMM_MONITOR_CTL: readable, but WRMSR outside SMM raises #GP(0) (SDM Vol. 3C §34.15.5).
    case smmMonitorControl
    /// IA32_SMBASE: RDMSR and WRMSR raise #GP(0) outside SMM, and SMM is not modelled.
    case smmOnly
}

/// One MSR of a CPU profile: what it resets to and how WRMSR treats each bit.
///
/// Write behaviour follows the split VirtualBox's CPU database records from probing hardware:
/// a written 1 in `gpMask` raises #GP(0) and nothing is written; bits in `ignoreMask` keep their
/// old value; every other bit is stored.
public struct MSRDescriptor: Equatable, Sendable {
    public var index: UInt32
    public var name: String
    public var reset: UInt64
    public var gpMask: UInt64
    public var ignoreMask: UInt64
    /// Every WRMSR raises #GP(0) (the VMX capability MSRs).
    public var readOnly: Bool
    /// Once this bit is set in the MSR, every WRMSR raises #GP(0) (IA32_FEATURE_CONTROL bit 0).
    public var lockBit: UInt64
    /// The MSR holds a linear address: WRMSR of a non-canonical value raises #GP(0).
    public var canonical: Bool
    public var rule: MSRRule

    public init(
        _ index: UInt32, _ name: String, reset: UInt64 = 0, gpMask: UInt64 = 0, ignoreMask: UInt64 = 0,
        readOnly: Bool = false, lockBit: UInt64 = 0, canonical: Bool = false, rule: MSRRule = .plain
    ) {
        self.index = index
        self.name = name
        self.reset = reset
        self.gpMask = gpMask
        self.ignoreMask = ignoreMask
        self.readOnly = readOnly
        self.lockBit = lockBit
        self.canonical = canonical
        self.rule = rule
    }

    /// Bits WRMSR stores.
    public var writableMask: UInt64 { readOnly ? 0 : ~(gpMask | ignoreMask) }
}

/// MSR addresses used by name in the semantics (SDM Vol. 4 Table 2-2).
public enum MSRIndex {
    public static let IA32_TIME_STAMP_COUNTER: UInt32 = 0x10
    public static let IA32_APIC_BASE: UInt32 = 0x1B
    public static let IA32_FEATURE_CONTROL: UInt32 = 0x3A
    public static let IA32_TSC_ADJUST: UInt32 = 0x3B
    public static let IA32_SMM_MONITOR_CTL: UInt32 = 0x9B
    public static let IA32_SMBASE: UInt32 = 0x9E
    public static let IA32_SYSENTER_CS: UInt32 = 0x174
    public static let IA32_SYSENTER_ESP: UInt32 = 0x175
    public static let IA32_SYSENTER_EIP: UInt32 = 0x176
    public static let IA32_PAT: UInt32 = 0x277
    public static let IA32_DS_AREA: UInt32 = 0x600
    public static let IA32_VMX_BASIC: UInt32 = 0x480
    public static let IA32_VMX_PINBASED_CTLS: UInt32 = 0x481
    public static let IA32_VMX_PROCBASED_CTLS: UInt32 = 0x482
    public static let IA32_VMX_EXIT_CTLS: UInt32 = 0x483
    public static let IA32_VMX_ENTRY_CTLS: UInt32 = 0x484
    public static let IA32_VMX_MISC: UInt32 = 0x485
    public static let IA32_VMX_CR0_FIXED0: UInt32 = 0x486
    public static let IA32_VMX_CR0_FIXED1: UInt32 = 0x487
    public static let IA32_VMX_CR4_FIXED0: UInt32 = 0x488
    public static let IA32_VMX_CR4_FIXED1: UInt32 = 0x489
    public static let IA32_VMX_VMCS_ENUM: UInt32 = 0x48A
    public static let IA32_VMX_PROCBASED_CTLS2: UInt32 = 0x48B
    public static let IA32_VMX_EPT_VPID_CAP: UInt32 = 0x48C
    public static let IA32_VMX_TRUE_PINBASED_CTLS: UInt32 = 0x48D
    public static let IA32_VMX_TRUE_PROCBASED_CTLS: UInt32 = 0x48E
    public static let IA32_VMX_TRUE_EXIT_CTLS: UInt32 = 0x48F
    public static let IA32_VMX_TRUE_ENTRY_CTLS: UInt32 = 0x490
    public static let IA32_VMX_VMFUNC: UInt32 = 0x491
    public static let IA32_EFER: UInt32 = 0xC000_0080
    public static let IA32_STAR: UInt32 = 0xC000_0081
    public static let IA32_LSTAR: UInt32 = 0xC000_0082
    public static let IA32_CSTAR: UInt32 = 0xC000_0083
    public static let IA32_FMASK: UInt32 = 0xC000_0084
    public static let IA32_FS_BASE: UInt32 = 0xC000_0100
    public static let IA32_GS_BASE: UInt32 = 0xC000_0101
    public static let IA32_KERNEL_GS_BASE: UInt32 = 0xC000_0102
    public static let IA32_TSC_AUX: UInt32 = 0xC000_0103
}
