// GETSEC, every leaf (SDM Vol. 2D ch. 7 "Safer Mode Extensions Reference").
//
// Front end: #UD when CR4.SMXE = 0 (or the profile lacks SMX), #UD for a leaf GETSEC
// [CAPABILITIES] does not report, then the leaf's #GP(0) conditions.
//
// ENTERACCS and SENTER load and authenticate an Intel-signed module through a TXT chipset and a
// TPM, which no interpreter can do. RingZero performs every front-end check, then establishes
// the architectural state the SDM gives for entering the module (authenticated-code mode,
// CR0/CR4/EFLAGS/EFER/EBP, flat 32-bit CS and SS, events masked) and continues at the next
// instruction, which stands in for the module's code until it executes GETSEC[EXITAC].
// docs/semantics-notes.md lists what is not modelled.

/// GETSEC leaf numbers (EAX).
enum GETSECLeaf: UInt32 {
    case capabilities = 0, enteraccs = 2, exitac = 3, senter = 4, sexit = 5, parameters = 6, smctrl = 7, wakeup = 8

    var costForm: CostForm {
        switch self {
        case .capabilities: .getsecCapabilities
        case .enteraccs: .getsecEnteraccs
        case .exitac: .getsecExitac
        case .senter: .getsecSenter
        case .sexit: .getsecSexit
        case .parameters: .getsecParameters
        case .smctrl: .getsecSmctrl
        case .wakeup: .getsecWakeup
        }
    }
}

extension Machine {
    private var isBSP: Bool { (msrFile.storedValue(MSRIndex.IA32_APIC_BASE) ?? 0) & (1 << 8) != 0 }

    /// The conditions most leaves share: protected mode, CPL 0, not virtual-8086.
    private var protectedCPL0: Bool {
        state.cr0 & CR0.PE != 0 && state.cpl == 0 && state.rflags & RFLAGS.VM == 0
    }

    /// Results are 32-bit: writing EAX, EBX, ECX zero-extends.
    private func setLow32(_ r: GPR, _ value: UInt32) { state.gpr[r.rawValue] = UInt64(value) }

    func getsec(_ op: UnsafePointer<Op>) throws(GuestException) {
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
            // The return point and the caller's CS selector are handed to the module (GDTR is not
            // modelled: its limit and base read as 0).
            state.gpr[GPR.rbx.rawValue] = state.rip
            setLow32(.rcx, UInt32(state.cs.selector))
            setLow32(.rdx, 0)
            enterAuthenticatedCode(base: ebx, cr4: state.cr4 & ~CR4.MCE)

        case .exitac:
            if inVMX || (state.in64BitMode && !isCanonical(state.gpr[GPR.rbx.rawValue])) || !protectedCPL0
                || !state.smx.authenticatedCodeMode || edx != 0 {
                throw fault(.GP)
            }
            let target = state.in64BitMode ? state.gpr[GPR.rbx.rawValue] : UInt64(ebx)
            state.smx.authenticatedCodeMode = false
            state.signals.initBlocked = false
            // Outside a measured environment SMI, NMI and A20M are unmasked too.
            if !state.smx.operation { state.signals.a20mBlocked = false }
            if state.inIA32eMode { state.cr3 = state.gpr[GPR.r8.rawValue] }
            state.rip = target

        case .senter:
            let featureControl = msrFile.featureControl(slot: facts.featureControlSlot)
            // PARAMETERS reports no selective SENTER disables, so EDX must be 0.
            let supportedEDX: UInt32 = 0
            if inVMX || !protectedCPL0 || state.cr0 & (CR0.CD | CR0.NW) != 0 || state.cr0 & CR0.NE == 0
                || !isBSP || !chipset || state.smx.operation || state.smx.authenticatedCodeMode
                || edx & ~supportedEDX != 0
                || featureControl & FeatureControl.lock == 0 || featureControl & FeatureControl.senterGlobalEnable == 0
                || UInt32((featureControl >> 8) & 0x7F) & (edx & 0x7F) != edx & 0x7F {
                throw fault(.GP)
            }
            try checkACModuleRegion(base: ebx, size: ecx)
            // The measured environment is established: SMX operation begins.
            state.smx.operation = true
            enterAuthenticatedCode(base: ebx, cr4: CR4.SMXE)

        case .sexit:
            if inVMX || !protectedCPL0 || !isBSP || !chipset || !state.smx.operation || state.smx.authenticatedCodeMode {
                throw fault(.GP)
            }
            state.smx.operation = false
            state.signals.initBlocked = false
            state.signals.a20mBlocked = false

        case .smctrl:
            if !protectedCPL0 { throw fault(.GP) }
            let monitorConfigured = (msrFile.storedValue(MSRIndex.IA32_SMM_MONITOR_CTL) ?? 0) & 1 != 0
            if ebx != 0 || !state.smx.operation || state.smx.authenticatedCodeMode || (inVMX && monitorConfigured) {
                throw fault(.GP)
            }

        case .wakeup:
            if !protectedCPL0 || !state.smx.operation || state.smx.authenticatedCodeMode || inVMX || !isBSP || !chipset {
                throw fault(.GP)
            }
        }
        charge(op, as: leaf.costForm)
        if hooks.transition != nil {
            switch leaf {
            case .senter: notifyTransition(.smxEntered)
            case .sexit: notifyTransition(.smxLeft)
            case .enteraccs: notifyTransition(.authenticatedCodeEntered)
            case .exitac: notifyTransition(.authenticatedCodeLeft)
            default: break
            }
        }
    }

    /// The state ENTERACCS and SENTER hand to the module: authenticated-code mode with SMI, INIT,
    /// A20M and NMI masked; paging, alignment checking and write protection off; EFLAGS and
    /// IA32_EFER cleared (which leaves IA-32e mode); EBP := ACBASE; flat 32-bit ring-0 code and
    /// stack segments from the module header (selectors kept, as the header is not modelled).
    private func enterAuthenticatedCode(base: UInt32, cr4: UInt64) {
        state.smx.authenticatedCodeMode = true
        state.signals.initBlocked = true
        state.signals.a20mBlocked = true
        state.cr0 &= ~(CR0.PG | CR0.AM | CR0.WP)
        state.cr4 = cr4
        lazyKind = .none
        state.rflags = RFLAGS.reserved1
        state.efer = 0
        setLow32(.rbp, base)
        state.cs = SegmentState(selector: state.cs.selector, l: false, d: true, dpl: 0)
        state.ss = SegmentState(selector: state.ss.selector, l: false, d: true, dpl: 0)
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
