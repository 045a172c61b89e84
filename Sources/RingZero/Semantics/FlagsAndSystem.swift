// NOP, HLT, CLI, STI, CLC, STC, CMC, CLD, STD, LAHF, SAHF, CPUID, RDTSC, RDTSCP, UD2, INT3.

extension Machine {
    /// HLT: privileged; retiring it ends the run with RIP past it.
    func hlt(_ op: UnsafePointer<Op>) throws(GuestException) {
        if state.cpl > 0 { throw fault(.GP) }
        pendingStop = .hlt
    }

    /// CLI and STI (SDM Vol. 2): IF changes when CPL <= IOPL (always in real mode); in
    /// virtual-8086 mode with IOPL < 3 and CR4.VME, or at CPL 3 with CR4.PVI, VIF changes
    /// instead; otherwise #GP(0). STI's one-instruction interrupt shadow is not modelled
    /// (no interrupts are delivered).
    private func setInterruptFlag(_ on: Bool) throws(GuestException) {
        let mode = state.mode
        let cpl = state.cpl
        let target: UInt64
        if mode == .real || cpl <= state.iopl {
            target = RFLAGS.IF
        } else if (mode == .v8086 && state.cr4 & CR4.VME != 0) || (mode != .v8086 && cpl == 3 && state.cr4 & CR4.PVI != 0) {
            if on && state.rflags & RFLAGS.VIP != 0 { throw fault(.GP) }
            target = RFLAGS.VIF
        } else {
            throw fault(.GP)
        }
        setFlags(on ? target : 0, mask: target)
    }

    func cli(_ op: UnsafePointer<Op>) throws(GuestException) { try setInterruptFlag(false) }
    func sti(_ op: UnsafePointer<Op>) throws(GuestException) { try setInterruptFlag(true) }
    func clc(_ op: UnsafePointer<Op>) { materializeFlags(); state.rflags &= ~RFLAGS.CF }
    func stc(_ op: UnsafePointer<Op>) { materializeFlags(); state.rflags |= RFLAGS.CF }
    func cmc(_ op: UnsafePointer<Op>) { materializeFlags(); state.rflags ^= RFLAGS.CF }
    func cld(_ op: UnsafePointer<Op>) { state.rflags &= ~RFLAGS.DF }
    func std(_ op: UnsafePointer<Op>) { state.rflags |= RFLAGS.DF }

    /// LAHF/SAHF need CPUID.80000001H:ECX[0] in 64-bit mode.
    private func checkLAHFSAHF() throws(GuestException) {
        if state.mode == .long && !facts.lahfInLongMode { throw GuestException.ud }
    }

    /// AH := SF:ZF:0:AF:0:PF:1:CF.
    func lahf(_ op: UnsafePointer<Op>) throws(GuestException) {
        try checkLAHFSAHF()
        materializeFlags()
        let image = (state.rflags & (RFLAGS.SF | RFLAGS.ZF | RFLAGS.AF | RFLAGS.PF | RFLAGS.CF)) | RFLAGS.reserved1
        state.gpr[0] = (state.gpr[0] & ~0xFF00) | (image << 8)
    }

    func sahf(_ op: UnsafePointer<Op>) throws(GuestException) {
        try checkLAHFSAHF()
        let ah = (state.gpr[0] >> 8) & 0xFF
        setFlags(ah, mask: RFLAGS.SF | RFLAGS.ZF | RFLAGS.AF | RFLAGS.PF | RFLAGS.CF)
    }

    /// CPUID answered from the profile. A leaf above the highest basic leaf (or above the
    /// highest extended leaf) returns the highest basic leaf's data, as Intel processors do.
    /// OSXSAVE (1:ECX[27]) mirrors CR4.OSXSAVE and APIC (1:EDX[9]) mirrors IA32_APIC_BASE[11].
    func cpuid(_ op: UnsafePointer<Op>) {
        let leaf = UInt32(truncatingIfNeeded: state.gpr[0])
        let subleaf = UInt32(truncatingIfNeeded: state.gpr[1])
        let maxBasic = profile.cpuidEntry(0)?.eax ?? 0
        let maxExtended = profile.cpuidEntry(0x8000_0000)?.eax ?? 0
        var effective = leaf
        if leaf < 0x8000_0000 ? leaf > maxBasic : leaf > maxExtended { effective = maxBasic }
        // Leaves indexed by ECX; every other leaf ignores it.
        let sub: UInt32 = switch effective {
        case 4, 7, 0xB, 0xD, 0xF, 0x10, 0x12, 0x14, 0x17, 0x18, 0x1D, 0x1F: subleaf
        default: 0
        }
        var e = profile.cpuid.first { $0.leaf == effective && $0.subleaf == sub }
            ?? CPUIDEntry(leaf: effective, subleaf: sub, eax: 0, ebx: 0, ecx: 0, edx: 0)
        if effective == 1 {
            e.ecx = (e.ecx & ~(1 << 27)) | (state.cr4 & CR4.OSXSAVE != 0 ? 1 << 27 : 0)
            let apicEnabled = (msrFile.storedValue(MSRIndex.IA32_APIC_BASE) ?? 0) & (1 << 11) != 0
            e.edx = (e.edx & ~(1 << 9)) | (apicEnabled ? 1 << 9 : 0)
        }
        state.gpr[0] = UInt64(e.eax)
        state.gpr[3] = UInt64(e.ebx)
        state.gpr[1] = UInt64(e.ecx)
        state.gpr[2] = UInt64(e.edx)
    }

    /// CR4.TSD makes RDTSC and RDTSCP privileged.
    private func checkTimeStampAccess() throws(GuestException) {
        if state.cr4 & CR4.TSD != 0 && state.cpl > 0 { throw fault(.GP) }
    }

    /// EDX:EAX := the time-stamp counter (cycle count plus the offset WRMSR set).
    func rdtsc(_ op: UnsafePointer<Op>) throws(GuestException) {
        try checkTimeStampAccess()
        let tsc = timeStampCounter
        state.gpr[0] = tsc & 0xFFFF_FFFF
        state.gpr[2] = tsc >> 32
    }

    /// RDTSCP also loads ECX with IA32_TSC_AUX; #UD without CPUID.80000001H:EDX[27].
    func rdtscp(_ op: UnsafePointer<Op>) throws(GuestException) {
        if !facts.hasRDTSCP { throw GuestException.ud }
        try checkTimeStampAccess()
        let tsc = timeStampCounter
        state.gpr[0] = tsc & 0xFFFF_FFFF
        state.gpr[2] = tsc >> 32
        state.gpr[1] = (msrFile.storedValue(MSRIndex.IA32_TSC_AUX) ?? 0) & 0xFFFF_FFFF
    }
}
