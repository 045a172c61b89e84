// The three built-in profiles. Every CPUID and VMX capability value comes from VirtualBox's CPU
// database dumps of the real processors (VBoxCpuReport, files Intel_Core_i7_5600U.h,
// Intel_Core_i7_6700K.h, Intel_Atom_330_1_60GHz.h); see docs/profiles.md for the derivations.

extension CPUProfile {
    /// The built-in profiles by name, default first.
    public static let builtins: [CPUProfile] = [i7_5600u, i7_6700k, atom330]

    public static func builtin(named name: String) -> CPUProfile? {
        builtins.first { $0.name == name }
    }

    /// Core i7-5600U (Broadwell-U, vPro): VMX and SMX, MAXPHYADDR 39.
    public static let i7_5600u = CPUProfile(
        name: "i7-5600u",
        processor: "Intel Core i7-5600U (Broadwell-U, family 6 model 3DH stepping 4)",
        cpuid: intelCPUID(
            maxBasic: 0x14, signature: 0x0003_06D4,
            leaf1ECX: 0x77FA_FBFF, leaf1EDX: 0xBFEB_FBFF, leaf7EBX: 0x021C_2FBB,
            ext1ECX: 0x121, ext1EDX: 0x2C10_0800, ext8EAX: 0x3027),
        msrs: commonMSRs(
            tscAdjust: true, rdtscp: true, apicBaseGPMask: 0xFFFF_FF80_0000_02FF,
            featureControlWritable: 0xFF07, smmMonitorCtl: true, smbase: true)
            + vmxCapabilities(
                basic: 0x00DA_0400_0000_0012, exitCtls: 0x007F_FFFF_0003_6DFF,
                entryCtls: 0x0000_FFFF_0000_11FF, misc: 0x3004_81E5, cr4Fixed1: 0x0037_67FF,
                vmcsEnum: 0x2A, procbased2: 0x0005_7CFF_0000_0000,
                trueExit: 0x007F_FFFF_0003_6DFB, trueEntry: 0x0000_FFFF_0000_11FB),
        txtChipset: true,
        cycleCosts: BuiltinCosts.broadwell)

    /// Core i7-6700K (Skylake-S): VMX without SMX, MAXPHYADDR 39.
    public static let i7_6700k = CPUProfile(
        name: "i7-6700k",
        processor: "Intel Core i7-6700K (Skylake-S, family 6 model 5EH stepping 3)",
        cpuid: intelCPUID(
            maxBasic: 0x16, signature: 0x0005_06E3,
            leaf1ECX: 0x77FA_FBBF, leaf1EDX: 0xBFEB_FBFF, leaf7EBX: 0x029C_6FBF,
            ext1ECX: 0x121, ext1EDX: 0x2C10_0800, ext8EAX: 0x3027),
        msrs: commonMSRs(
            tscAdjust: true, rdtscp: true, apicBaseGPMask: 0xFFFF_FF80_0000_02FF,
            featureControlWritable: 0x4_0005, smmMonitorCtl: true, smbase: true)
            + vmxCapabilities(
                basic: 0x00DA_0400_0000_0004, exitCtls: 0x01FF_FFFF_0003_6DFF,
                entryCtls: 0x0003_FFFF_0000_11FF, misc: 0x7004_C1E7, cr4Fixed1: 0x0037_27FF,
                vmcsEnum: 0x2E, procbased2: 0x001F_FCFF_0000_0000,
                trueExit: 0x01FF_FFFF_0003_6DFB, trueEntry: 0x0003_FFFF_0000_11FB),
        txtChipset: false,
        cycleCosts: BuiltinCosts.skylake)

    /// Atom 330 (Bonnell): 64-bit, neither VMX nor SMX, MAXPHYADDR 32.
    public static let atom330 = CPUProfile(
        name: "atom-330",
        processor: "Intel Atom 330 (Bonnell, family 6 model 1CH stepping 2)",
        cpuid: intelCPUID(
            maxBasic: 0x0A, signature: 0x0001_06C2,
            leaf1ECX: 0x0040_E31D, leaf1EDX: 0xBFE9_FBFF, leaf7EBX: 0,
            ext1ECX: 0x1, ext1EDX: 0x2010_0800, ext8EAX: 0x3020),
        msrs: commonMSRs(
            tscAdjust: false, rdtscp: false, apicBaseGPMask: 0xFFFF_FFFF_0000_06FF,
            featureControlWritable: 0x1, smmMonitorCtl: false, smbase: false),
        txtChipset: false,
        cycleCosts: BuiltinCosts.bonnell)

    /// CPUID leaves the semantics read. Leaf 1 ECX is the reset value (OSXSAVE, bit 27, reads
    /// CR4.OSXSAVE at run time); leaf 1 EBX is assumed: CLFLUSH line 64 bytes, one logical
    /// processor, initial APIC ID 0.
    static func intelCPUID(
        maxBasic: UInt32, signature: UInt32, leaf1ECX: UInt32, leaf1EDX: UInt32, leaf7EBX: UInt32,
        ext1ECX: UInt32, ext1EDX: UInt32, ext8EAX: UInt32
    ) -> [CPUIDEntry] {
        [
            // "GenuineIntel" in EBX, EDX, ECX.
            CPUIDEntry(leaf: 0, eax: maxBasic, ebx: 0x756E_6547, ecx: 0x6C65_746E, edx: 0x4965_6E69),
            CPUIDEntry(leaf: 1, eax: signature, ebx: 0x0001_0800, ecx: leaf1ECX, edx: leaf1EDX),
            CPUIDEntry(leaf: 7, eax: 0, ebx: leaf7EBX, ecx: 0, edx: 0),
            CPUIDEntry(leaf: 0x8000_0000, eax: 0x8000_0008, ebx: 0, ecx: 0, edx: 0),
            CPUIDEntry(leaf: 0x8000_0001, eax: 0, ebx: 0, ecx: ext1ECX, edx: ext1EDX),
            CPUIDEntry(leaf: 0x8000_0008, eax: ext8EAX, ebx: 0, ecx: 0, edx: 0),
        ]
    }

    /// The architectural MSRs of msrs.md §1, with the masks the dumps record.
    static func commonMSRs(
        tscAdjust: Bool, rdtscp: Bool, apicBaseGPMask: UInt64, featureControlWritable: UInt64,
        smmMonitorCtl: Bool, smbase: Bool
    ) -> [MSRDescriptor] {
        var list: [MSRDescriptor] = [
            MSRDescriptor(MSRIndex.IA32_TIME_STAMP_COUNTER, "IA32_TIME_STAMP_COUNTER", rule: .timeStampCounter),
            MSRDescriptor(MSRIndex.IA32_APIC_BASE, "IA32_APIC_BASE", reset: 0xFEE0_0900, gpMask: apicBaseGPMask, rule: .apicBase),
            MSRDescriptor(MSRIndex.IA32_FEATURE_CONTROL, "IA32_FEATURE_CONTROL", gpMask: ~featureControlWritable, lockBit: FeatureControl.lock),
        ]
        if tscAdjust { list.append(MSRDescriptor(MSRIndex.IA32_TSC_ADJUST, "IA32_TSC_ADJUST", rule: .tscAdjust)) }
        if smmMonitorCtl {
            list.append(MSRDescriptor(MSRIndex.IA32_SMM_MONITOR_CTL, "IA32_SMM_MONITOR_CTL", gpMask: 0xFFFF_FFFF_0000_0FFA, rule: .smmMonitorControl))
        }
        if smbase { list.append(MSRDescriptor(MSRIndex.IA32_SMBASE, "IA32_SMBASE", rule: .smmOnly)) }
        list += [
            MSRDescriptor(MSRIndex.IA32_SYSENTER_CS, "IA32_SYSENTER_CS", ignoreMask: 0xFFFF_FFFF_0000_0000),
            MSRDescriptor(MSRIndex.IA32_SYSENTER_ESP, "IA32_SYSENTER_ESP", canonical: true),
            MSRDescriptor(MSRIndex.IA32_SYSENTER_EIP, "IA32_SYSENTER_EIP", canonical: true),
            MSRDescriptor(MSRIndex.IA32_PAT, "IA32_PAT", reset: 0x0007_0406_0007_0406, rule: .pat),
            MSRDescriptor(MSRIndex.IA32_DS_AREA, "IA32_DS_AREA", canonical: true),
            MSRDescriptor(MSRIndex.IA32_EFER, "IA32_EFER", gpMask: 0xFFFF_FFFF_FFFF_F2FE, ignoreMask: EFER.LMA, rule: .efer),
            MSRDescriptor(MSRIndex.IA32_STAR, "IA32_STAR"),
            MSRDescriptor(MSRIndex.IA32_LSTAR, "IA32_LSTAR", canonical: true),
            MSRDescriptor(MSRIndex.IA32_CSTAR, "IA32_CSTAR", canonical: true),
            MSRDescriptor(MSRIndex.IA32_FMASK, "IA32_FMASK", ignoreMask: 0xFFFF_FFFF_0000_0000),
            MSRDescriptor(MSRIndex.IA32_FS_BASE, "IA32_FS_BASE", canonical: true),
            MSRDescriptor(MSRIndex.IA32_GS_BASE, "IA32_GS_BASE", canonical: true),
            MSRDescriptor(MSRIndex.IA32_KERNEL_GS_BASE, "IA32_KERNEL_GS_BASE", canonical: true),
        ]
        if rdtscp { list.append(MSRDescriptor(MSRIndex.IA32_TSC_AUX, "IA32_TSC_AUX", gpMask: 0xFFFF_FFFF_0000_0000)) }
        return list
    }

    /// The VMX capability MSRs (480H-491H), all read-only. Values that the two VMX profiles share
    /// are written here once; the rest are parameters.
    static func vmxCapabilities(
        basic: UInt64, exitCtls: UInt64, entryCtls: UInt64, misc: UInt64, cr4Fixed1: UInt64,
        vmcsEnum: UInt64, procbased2: UInt64, trueExit: UInt64, trueEntry: UInt64
    ) -> [MSRDescriptor] {
        func capability(_ index: UInt32, _ name: String, _ value: UInt64) -> MSRDescriptor {
            MSRDescriptor(index, name, reset: value, readOnly: true)
        }
        return [
            capability(MSRIndex.IA32_VMX_BASIC, "IA32_VMX_BASIC", basic),
            capability(MSRIndex.IA32_VMX_PINBASED_CTLS, "IA32_VMX_PINBASED_CTLS", 0x0000_007F_0000_0016),
            capability(MSRIndex.IA32_VMX_PROCBASED_CTLS, "IA32_VMX_PROCBASED_CTLS", 0xFFF9_FFFE_0401_E172),
            capability(MSRIndex.IA32_VMX_EXIT_CTLS, "IA32_VMX_EXIT_CTLS", exitCtls),
            capability(MSRIndex.IA32_VMX_ENTRY_CTLS, "IA32_VMX_ENTRY_CTLS", entryCtls),
            capability(MSRIndex.IA32_VMX_MISC, "IA32_VMX_MISC", misc),
            capability(MSRIndex.IA32_VMX_CR0_FIXED0, "IA32_VMX_CR0_FIXED0", 0x8000_0021),
            capability(MSRIndex.IA32_VMX_CR0_FIXED1, "IA32_VMX_CR0_FIXED1", 0xFFFF_FFFF),
            capability(MSRIndex.IA32_VMX_CR4_FIXED0, "IA32_VMX_CR4_FIXED0", 0x2000),
            capability(MSRIndex.IA32_VMX_CR4_FIXED1, "IA32_VMX_CR4_FIXED1", cr4Fixed1),
            capability(MSRIndex.IA32_VMX_VMCS_ENUM, "IA32_VMX_VMCS_ENUM", vmcsEnum),
            capability(MSRIndex.IA32_VMX_PROCBASED_CTLS2, "IA32_VMX_PROCBASED_CTLS2", procbased2),
            capability(MSRIndex.IA32_VMX_EPT_VPID_CAP, "IA32_VMX_EPT_VPID_CAP", 0x0000_0F01_0633_4141),
            capability(MSRIndex.IA32_VMX_TRUE_PINBASED_CTLS, "IA32_VMX_TRUE_PINBASED_CTLS", 0x0000_007F_0000_0016),
            capability(MSRIndex.IA32_VMX_TRUE_PROCBASED_CTLS, "IA32_VMX_TRUE_PROCBASED_CTLS", 0xFFF9_FFFE_0400_6172),
            capability(MSRIndex.IA32_VMX_TRUE_EXIT_CTLS, "IA32_VMX_TRUE_EXIT_CTLS", trueExit),
            capability(MSRIndex.IA32_VMX_TRUE_ENTRY_CTLS, "IA32_VMX_TRUE_ENTRY_CTLS", trueEntry),
            capability(MSRIndex.IA32_VMX_VMFUNC, "IA32_VMX_VMFUNC", 0x1),
        ]
    }
}
