// VMXON and VMXOFF (SDM Vol. 3C "VMXON—Enter VMX Operation", "VMXOFF—Leave VMX Operation",
// §31.2 conventions; seed §23.7-23.8). Checks follow the pseudocode's order.

extension Machine {
    /// VMsucceed: the six status flags cleared. Recorded as pending flags, those of a logical
    /// operation whose result is 1: CF, OF and AF are 0 after a logical operation, and ZF, SF
    /// and PF of 1 are 0 too, whatever the pending size (left as it was). Written into RFLAGS
    /// instead, the optimizer narrowed the update to a 16-bit read-modify-write of memory, and
    /// the next instruction's 64-bit load of RFLAGS (VMXOFF's virtual-8086 check) could not be
    /// served from the store buffer: a stall on every VMXON-VMXOFF pair (docs/performance.md,
    /// item 29).
    func vmSucceed() {
        lazyKind = .logic
        lazyResult = 1
    }

    /// VMfailInvalid: CF set, the other five cleared.
    func vmFailInvalid() {
        lazyKind = .none
        state.rflags = (state.rflags & ~RFLAGS.status) | RFLAGS.CF
    }

    /// VMfailValid(n): ZF set, the other five cleared; n goes to the current VMCS's
    /// VM-instruction error field.
    func vmFailValid(_ error: UInt32) {
        lazyKind = .none
        state.rflags = (state.rflags & ~RFLAGS.status) | RFLAGS.ZF
        state.vmx.instructionError = error
    }

    /// VMfail(n): VMfailValid with a current VMCS, else VMfailInvalid.
    func vmFail(_ error: UInt32) {
        if state.vmx.currentVMCS != .max { vmFailValid(error) } else { vmFailInvalid() }
    }

    /// #UD unless in protected mode with CR4.VMXE (for VMXON) outside virtual-8086 and
    /// compatibility mode.
    @inline(__always) var vmxModeAllowed: Bool {
        state.cr0 & CR0.PE != 0 && state.rflags & RFLAGS.VM == 0 && !(state.inIA32eMode && !state.cs.l)
    }

    /// CR0 and CR4 inside the VMX fixed-bit masks (IA32_VMX_CR0_FIXED0/1, IA32_VMX_CR4_FIXED0/1).
    @inline(__always) private var controlRegistersFitVMX: Bool {
        Self.fitsFixedBits(state.cr0, fixed0: facts.cr0Fixed0, fixed1: facts.cr0Fixed1)
            && Self.fitsFixedBits(state.cr4, fixed0: facts.cr4Fixed0, fixed1: facts.cr4Fixed1)
    }

    /// IA32_FEATURE_CONTROL's lock bit, and its VMXON enable bit for the current SMX state
    /// (inside or outside SMX operation).
    @inline(__always) private var featureControlForVMXON: (locked: Bool, enabled: Bool) {
        let featureControl = msrFile.featureControl(slot: facts.featureControlSlot)
        let enable = state.smx.operation ? FeatureControl.enableVMXInsideSMX : FeatureControl.enableVMXOutsideSMX
        return (featureControl & FeatureControl.lock != 0, featureControl & enable != 0)
    }

    /// A VMXON pointer VMXON accepts: 4-KByte aligned, within MAXPHYADDR, and below 4 GBytes
    /// when IA32_VMX_BASIC[48] limits VMX structures to 32-bit physical addresses.
    /// (`ProfileFacts.vmxonPointerReserved` holds those bits.)
    @inline(__always) private func vmxonPointerValid(_ pointer: UInt64) -> Bool {
        pointer & facts.vmxonPointerReserved == 0
    }

    /// The VMXON region's first 4 bytes: IA32_VMX_BASIC's revision identifier, bit 31 clear
    /// (`vmxRevision` has bit 31 clear, so one comparison makes both tests).
    @inline(__always) private func vmxonRevisionValid(_ revision: UInt64) -> Bool {
        UInt32(truncatingIfNeeded: revision) == facts.vmxRevision
    }

    /// VMXON's tests before it reads its operand, outside VMX operation, as its common case
    /// needs them: every one passes.
    @inline(__always) private var vmxonChecksBeforeOperand: Bool {
        guard facts.hasVMX && vmxModeAllowed && state.cr4 & CR4.VMXE != 0 && state.cpl == 0
                && !state.signals.a20m && controlRegistersFitVMX else { return false }
        let featureControl = featureControlForVMXON
        return featureControl.locked && featureControl.enabled
    }

    /// VMXON's success: VMX root operation, no current VMCS, INIT and A20M blocked, VMsucceed.
    @inline(__always) private func enterVMXRootOperation(vmxonPointer pointer: UInt64) {
        state.vmx.operation = .root
        state.vmx.vmxonPointer = pointer
        state.vmx.currentVMCS = .max
        state.signals.initBlocked = true
        state.signals.a20mBlocked = true
        vmSucceed()
    }

    /// VMXOFF's success: out of VMX operation, INIT unblocked, A20M unblocked outside SMX
    /// operation (GETSEC[SENTER] masked it inside), VMsucceed.
    @inline(__always) private func leaveVMXOperation() {
        state.vmx.operation = .none
        state.vmx.vmxonPointer = 0
        state.vmx.currentVMCS = .max
        state.signals.initBlocked = false
        if !state.smx.operation { state.signals.a20mBlocked = false }
        vmSucceed()
    }

    @inline(__always) func vmxon(_ op: UnsafePointer<Op>) throws(GuestException) {
        // Without VMX (CPUID.1:ECX[5] = 0) the opcode does not exist.
        if !facts.hasVMX || !vmxModeAllowed || state.cr4 & CR4.VMXE == 0 { throw GuestException.ud }
        if state.vmx.operation == .root {
            // In VMX root operation the operand is not read.
            if state.cpl > 0 { throw fault(.GP) }
            vmFail(15)
            charge(op, as: .vmxonFail)
            return
        }
        if state.cpl > 0 { throw fault(.GP) }
        if state.signals.a20m { throw fault(.GP) }
        if !controlRegistersFitVMX { throw fault(.GP) }
        let featureControl = featureControlForVMXON
        if !featureControl.locked { throw fault(.GP) }
        if !featureControl.enabled { throw fault(.GP) }

        let pointer = readMemory(try linearAddress(op), 8)
        if !vmxonPointerValid(pointer) || !vmxonRevisionValid(readMemory(pointer, 4)) {
            vmFailInvalid()
            charge(op, as: .vmxonFail)
            return
        }
        enterVMXRootOperation(vmxonPointer: pointer)
        if hooks.transition != nil { notifyTransition(.vmxOn(vmxonPointer: pointer)) }
    }

    /// VMXON's common case, the one a loop repeats: VMX root operation entered from outside
    /// VMX operation with every check passed. Returns false, having changed nothing, for
    /// anything else, which `vmxon` then runs in full, in the SDM's order. Its threaded
    /// handler runs this inline with no call, so with no stack frame (docs/performance.md,
    /// item 30). No hook needs telling: the threaded loop runs only while none is registered.
    /// The tests before the operand are made once and remembered (`MachineCore.vmxonReady`)
    /// until something that can change their answer runs.
    ///
    /// `absolute`: the operand's linear address is its displacement, checked when the block
    /// was decoded (`ThreadedIndex.absoluteAddress`).
    @inline(__always) func vmxonCommonCase(_ op: UnsafePointer<Op>, absolute: Bool = false) -> Bool {
        guard state.vmx.operation == .none else { return false }
        if !core.pointee.vmxonReady {
            guard vmxonChecksBeforeOperand else { return false }
            core.pointee.vmxonReady = true
        }
        assert(vmxonChecksBeforeOperand, "vmxonReady was not cleared after a change of what VMXON tests")
        // No FS or GS base to look up, and both reads inside memory: no call on this path.
        let address: UInt64
        if absolute {
            address = UInt64(bitPattern: op.pointee.disp)
            assert(address == canonicalLinearAddress(op), "an absolute VMXON operand's address changed")
        } else {
            guard op.pointee.segment < SegmentOverride.fs.rawValue, let linear = canonicalLinearAddress(op) else { return false }
            address = linear
        }
        guard let pointer = memory.readInside(address, 8), vmxonPointerValid(pointer),
              let revision = memory.readInside(pointer, 4), vmxonRevisionValid(revision) else { return false }
        enterVMXRootOperation(vmxonPointer: pointer)
        return true
    }

    @inline(__always) func vmxoff(_ op: UnsafePointer<Op>) throws(GuestException) {
        if !facts.hasVMX || state.vmx.operation == .none || !vmxModeAllowed { throw GuestException.ud }
        if state.cpl > 0 { throw fault(.GP) }
        if state.vmx.dualMonitor {
            vmFail(23)
            return
        }
        leaveVMXOperation()
        if hooks.transition != nil { notifyTransition(.vmxOff) }
    }

    /// VMXOFF's common case, as `vmxonCommonCase`: VMX operation left at CPL 0 without the
    /// dual-monitor treatment.
    @inline(__always) func vmxoffCommonCase(_ op: UnsafePointer<Op>) -> Bool {
        let modeReady = core.pointee.vmxModeReady
        assert(modeReady == (facts.hasVMX && vmxModeAllowed && privilegedForShortcut), "vmxModeReady was not refreshed")
        guard modeReady && state.vmx.operation != .none && !state.vmx.dualMonitor else { return false }
        leaveVMXOperation()
        return true
    }
}
