/// One CPUID answer: the four registers for a leaf (and sub-leaf, where the leaf has them).
public struct CPUIDEntry: Equatable, Sendable {
    public var leaf: UInt32
    public var subleaf: UInt32
    public var eax: UInt32
    public var ebx: UInt32
    public var ecx: UInt32
    public var edx: UInt32

    public init(leaf: UInt32, subleaf: UInt32 = 0, eax: UInt32, ebx: UInt32, ecx: UInt32, edx: UInt32) {
        self.leaf = leaf
        self.subleaf = subleaf
        self.eax = eax
        self.ebx = ebx
        self.ecx = ecx
        self.edx = edx
    }
}

/// A CPU model as data: CPUID answers, the MSR set with reset values and write rules (the VMX
/// capability MSRs among them, carrying the fixed-bit masks), platform facts and cycle costs.
///
/// Every check that depends on the processor reads it from here, never from a constant in code.
public struct CPUProfile: Equatable, Sendable {
    public var name: String
    public var processor: String
    public var cpuid: [CPUIDEntry]
    public var msrs: [MSRDescriptor]
    /// Whether a TXT-capable chipset is present by default (the state file may override it).
    public var txtChipset: Bool
    /// Cycle cost per instruction form (`CostForm.key`, or `rdmsr NAME` / `wrmsr NAME` for one
    /// MSR), with its source. Forms not listed cost what `default` says if present, else what
    /// the default profile (i7-5600u) charges.
    public var cycleCosts: [String: CycleCost]

    public init(
        name: String, processor: String, cpuid: [CPUIDEntry], msrs: [MSRDescriptor],
        txtChipset: Bool = false, cycleCosts: [String: CycleCost] = [:]
    ) {
        self.name = name
        self.processor = processor
        self.cpuid = cpuid
        self.msrs = msrs
        self.txtChipset = txtChipset
        self.cycleCosts = cycleCosts
    }

    /// The CPUID entry for a leaf and sub-leaf as stored, if any.
    public func cpuidEntry(_ leaf: UInt32, _ subleaf: UInt32 = 0) -> CPUIDEntry? {
        cpuid.first { $0.leaf == leaf && $0.subleaf == subleaf } ?? cpuid.first { $0.leaf == leaf }
    }

    func cpuidBit(_ leaf: UInt32, _ register: KeyPath<CPUIDEntry, UInt32>, _ bit: Int, subleaf: UInt32 = 0) -> Bool {
        guard let e = cpuidEntry(leaf, subleaf) else { return false }
        return (e[keyPath: register] >> UInt32(bit)) & 1 == 1
    }

    /// CPUID.1:ECX[5].
    public var hasVMX: Bool { cpuidBit(1, \.ecx, 5) }
    /// CPUID.1:ECX[6].
    public var hasSMX: Bool { cpuidBit(1, \.ecx, 6) }

    /// MAXPHYADDR: CPUID.80000008H:EAX[7:0]; without that leaf 36 with PAE, else 32 (SDM Vol. 3A §4.1.4).
    public var maxPhysicalAddress: Int {
        let maxExtended = cpuidEntry(0x8000_0000)?.eax ?? 0
        if maxExtended >= 0x8000_0008, let e = cpuidEntry(0x8000_0008) { return Int(e.eax & 0xFF) }
        return cpuidBit(1, \.edx, 6) ? 36 : 32
    }

    /// CR4 bits this processor supports: each bit whose CPUID feature flag is set (SDM Vol. 3A §2.5;
    /// the same derivation Bochs and KVM use).
    public var cr4AllowedMask: UInt64 {
        var mask: UInt64 = CR4.PCE
        func allow(_ bit: UInt64, _ present: Bool) { if present { mask |= bit } }
        allow(CR4.VME | CR4.PVI, cpuidBit(1, \.edx, 1))
        allow(CR4.TSD, cpuidBit(1, \.edx, 4))
        allow(CR4.DE, cpuidBit(1, \.edx, 2))
        allow(CR4.PSE, cpuidBit(1, \.edx, 3))
        allow(CR4.PAE, cpuidBit(1, \.edx, 6))
        allow(CR4.MCE, cpuidBit(1, \.edx, 7))
        allow(CR4.PGE, cpuidBit(1, \.edx, 13))
        allow(CR4.OSFXSR, cpuidBit(1, \.edx, 24))
        allow(CR4.OSXMMEXCPT, cpuidBit(1, \.edx, 25))
        allow(CR4.UMIP, cpuidBit(7, \.ecx, 2))
        allow(CR4.LA57, cpuidBit(7, \.ecx, 16))
        allow(CR4.VMXE, hasVMX)
        allow(CR4.SMXE, hasSMX)
        allow(CR4.FSGSBASE, cpuidBit(7, \.ebx, 0))
        allow(CR4.PCIDE, cpuidBit(1, \.ecx, 17))
        allow(CR4.OSXSAVE, cpuidBit(1, \.ecx, 26))
        allow(CR4.KL, cpuidBit(7, \.ecx, 23))
        allow(CR4.SMEP, cpuidBit(7, \.ebx, 7))
        allow(CR4.SMAP, cpuidBit(7, \.ebx, 20))
        allow(CR4.PKE, cpuidBit(7, \.ecx, 3))
        allow(CR4.CET, cpuidBit(7, \.ecx, 7) || cpuidBit(7, \.edx, 20))
        allow(CR4.PKS, cpuidBit(7, \.ecx, 31))
        return mask
    }

    /// The reset value of an MSR of this profile (the fixed-bit masks live here).
    public func msrReset(_ index: UInt32) -> UInt64? {
        msrs.first { $0.index == index }?.reset
    }

    /// Checks a profile could only fail if written by hand: they keep the semantics meaningful.
    public func validate() throws(ProfileError) {
        if name.isEmpty { throw ProfileError("profile.name is empty") }
        var seen = Set<UInt32>()
        for m in msrs {
            if !seen.insert(m.index).inserted {
                throw ProfileError("profile.msrs lists MSR 0x\(String(m.index, radix: 16)) twice")
            }
        }
        if cpuidEntry(0) == nil { throw ProfileError("profile.cpuid has no leaf 0") }
        if cpuidEntry(1) == nil { throw ProfileError("profile.cpuid has no leaf 1") }
        if hasVMX {
            for (f0, f1, what) in [
                (MSRIndex.IA32_VMX_CR0_FIXED0, MSRIndex.IA32_VMX_CR0_FIXED1, "CR0"),
                (MSRIndex.IA32_VMX_CR4_FIXED0, MSRIndex.IA32_VMX_CR4_FIXED1, "CR4"),
            ] {
                guard let fixed0 = msrReset(f0), let fixed1 = msrReset(f1), msrReset(MSRIndex.IA32_VMX_BASIC) != nil
                else {
                    throw ProfileError("profile reports VMX (CPUID.1:ECX[5]) but lacks IA32_VMX_BASIC or the \(what) fixed-bit MSRs")
                }
                if fixed0 & ~fixed1 != 0 {
                    throw ProfileError("IA32_VMX_\(what)_FIXED0 has bits that IA32_VMX_\(what)_FIXED1 forbids")
                }
            }
        }
        if let m = cpuidEntry(0x8000_0008), m.eax & 0xFF < 32 || m.eax & 0xFF > 52 {
            throw ProfileError("MAXPHYADDR (CPUID.80000008H:EAX[7:0]) must be 32 to 52")
        }
    }
}

/// A profile that cannot be used, with the reason.
public struct ProfileError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension MSRDescriptor {
    /// The descriptor with every bit whose CPUID feature the profile lacks added to its #GP mask,
    /// so a JSON profile cannot enable what its own CPUID denies: IA32_EFER.SCE/LME/NXE
    /// (CPUID.80000001H:EDX[11]/[29]/[20]) and IA32_FEATURE_CONTROL bit 1 (VMX and SMX), bit 2
    /// (VMX), bits 15:8 (SMX), bit 17 (SGX launch control), bit 18 (SGX) (msrs.md §2-§3).
    func reservingBitsCPUIDLacks(_ profile: CPUProfile) -> MSRDescriptor {
        var d = self
        func require(_ bits: UInt64, _ present: Bool) { if !present { d.gpMask |= bits } }
        switch index {
        case MSRIndex.IA32_EFER:
            require(EFER.SCE, profile.cpuidBit(0x8000_0001, \.edx, 11))
            require(EFER.LME, profile.cpuidBit(0x8000_0001, \.edx, 29))
            require(EFER.NXE, profile.cpuidBit(0x8000_0001, \.edx, 20))
        case MSRIndex.IA32_FEATURE_CONTROL:
            require(FeatureControl.enableVMXInsideSMX, profile.hasVMX && profile.hasSMX)
            require(FeatureControl.enableVMXOutsideSMX, profile.hasVMX)
            require(FeatureControl.senterLocalEnables | FeatureControl.senterGlobalEnable, profile.hasSMX)
            require(FeatureControl.sgxLaunchControl, profile.cpuidBit(7, \.ecx, 30))
            require(FeatureControl.sgxGlobalEnable, profile.cpuidBit(7, \.ebx, 2))
        default:
            break
        }
        return d
    }
}
