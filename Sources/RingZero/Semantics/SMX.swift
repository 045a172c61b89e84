// GETSEC, every leaf (SDM Vol. 2D ch. 7 "Safer Mode Extensions Reference").
//
// Front end: #UD when CR4.SMXE = 0 (or the profile lacks SMX), #UD for a leaf GETSEC
// [CAPABILITIES] does not report, then the leaf's #GP(0) conditions. ENTERACCS and SENTER
// load and authenticate a signed module through a TXT chipset and TPM, which no interpreter
// can do: RingZero performs every front-end check exactly and then models the module as having
// run and returned to the next instruction, leaving only the architectural flags the SDM says
// the transition establishes (SENTERFLAG, ACMODEFLAG, event blocking). docs/semantics-notes.md
// says so.

/// GETSEC leaf numbers (EAX).
enum GETSECLeaf: UInt32 {
    case capabilities = 0, enteraccs = 2, exitac = 3, senter = 4, sexit = 5, parameters = 6, smctrl = 7, wakeup = 8
}

extension Machine {
    private var isBSP: Bool { (msrs.storedValue(MSRIndex.IA32_APIC_BASE) ?? 0) & (1 << 8) != 0 }

    /// The conditions most leaves share: protected mode, CPL 0, not virtual-8086.
    private var protectedCPL0: Bool {
        state.cr0 & CR0.PE != 0 && state.cpl == 0 && state.rflags & RFLAGS.VM == 0
    }

    /// Results are 32-bit: writing EAX, EBX, ECX zero-extends.
    private func setLow32(_ r: GPR, _ value: UInt32) { state.gpr[r.rawValue] = UInt64(value) }

    func getsec(_ op: Op) throws(GuestException) {
        if state.cr4 & CR4.SMXE == 0 || !facts.hasSMX { throw GuestException.ud }
        guard let leaf = GETSECLeaf(rawValue: UInt32(truncatingIfNeeded: state.gpr[0])) else {
            throw GuestException.ud
        }
        let ebx = UInt32(truncatingIfNeeded: state.gpr[GPR.rbx.rawValue])
        let ecx = UInt32(truncatingIfNeeded: state.gpr[GPR.rcx.rawValue])
        let edx = UInt32(truncatingIfNeeded: state.gpr[GPR.rdx.rawValue])
        let inVMX = inVMXOperation
        let chipset = state.txtChipset
        switch leaf {
        case .capabilities:
            // Bit 0: chipset present; bits 2-8: leaves ENTERACCS..WAKEUP available.
            setLow32(.rax, ebx == 0 ? (chipset ? 0x1FD : 0x1FC) : 0)

        case .parameters:
            // Index 0: AC module version 0 supported; 1: 32 KiB ACRAM; 2: external memory
            // types UC and WC; 3 onwards: end of list.
            switch ebx {
            case 0: setLow32(.rax, 1); setLow32(.rbx, 0xFFFF_FFFF); setLow32(.rcx, 0)
            case 1: setLow32(.rax, 0x8002)
            case 2: setLow32(.rax, 0x303)
            default: setLow32(.rax, 0)
            }

        case .enteraccs:
            if inVMX || !protectedCPL0 || state.cr0 & (CR0.CD | CR0.NW) != 0 || state.cr0 & CR0.NE == 0
                || !isBSP || !chipset || state.smx.authenticatedCodeMode {
                throw fault(.GP)
            }
            try checkACModuleRegion(base: ebx, size: ecx)
            // The module runs and exits (EXITAC) back to the next instruction.
            state.rflags &= ~RFLAGS.status

        case .exitac:
            if inVMX || (state.in64BitMode && !isCanonical(state.gpr[GPR.rbx.rawValue])) || !protectedCPL0
                || !state.smx.authenticatedCodeMode || edx != 0 {
                throw fault(.GP)
            }
            let target = state.in64BitMode ? state.gpr[GPR.rbx.rawValue] : UInt64(ebx)
            state.smx.authenticatedCodeMode = false
            state.signals.initBlocked = inVMX
            if !state.smx.operation { state.signals.a20mBlocked = false }
            if state.inIA32eMode { state.cr3 = state.gpr[GPR.r8.rawValue] }
            state.rip = target

        case .senter:
            let featureControl = msrs.storedValue(MSRIndex.IA32_FEATURE_CONTROL) ?? 0
            let supportedEDX: UInt32 = 0
            if inVMX || !protectedCPL0 || state.cr0 & (CR0.CD | CR0.NW) != 0 || state.cr0 & CR0.NE == 0
                || !isBSP || !chipset || state.smx.operation || state.smx.authenticatedCodeMode
                || edx & ~supportedEDX != 0
                || featureControl & FeatureControl.lock == 0 || featureControl & FeatureControl.senterGlobalEnable == 0
                || UInt32((featureControl >> 8) & 0x7F) & (edx & 0x7F) != edx & 0x7F {
                throw fault(.GP)
            }
            try checkACModuleRegion(base: ebx, size: ecx)
            // SINIT runs and exits; the measured environment is now established.
            state.smx.operation = true
            state.signals.a20mBlocked = true
            state.rflags &= ~RFLAGS.status

        case .sexit:
            if inVMX || !protectedCPL0 || !isBSP || !chipset || !state.smx.operation || state.smx.authenticatedCodeMode {
                throw fault(.GP)
            }
            state.smx.operation = false
            state.signals.initBlocked = false
            state.signals.a20mBlocked = false

        case .smctrl:
            if !protectedCPL0 { throw fault(.GP) }
            let monitorConfigured = (msrs.storedValue(MSRIndex.IA32_SMM_MONITOR_CTL) ?? 0) & 1 != 0
            if ebx != 0 || !state.smx.operation || state.smx.authenticatedCodeMode || (inVMX && monitorConfigured) {
                throw fault(.GP)
            }

        case .wakeup:
            if !protectedCPL0 || !state.smx.operation || state.smx.authenticatedCodeMode || inVMX || !isBSP || !chipset {
                throw fault(.GP)
            }
        }
    }

    /// ACBASE (EBX) 4 KiB-aligned; ACSIZE (ECX) a multiple of 64 within the 32 KiB ACRAM that
    /// PARAMETERS reports; the region below 4 GiB.
    private func checkACModuleRegion(base: UInt32, size: UInt32) throws(GuestException) {
        if base & 0xFFF != 0 || size & 0x3F != 0 || size == 0 || size > 0x8000
            || UInt64(base) + UInt64(size) > 0xFFFF_FFFF {
            throw fault(.GP)
        }
    }
}
