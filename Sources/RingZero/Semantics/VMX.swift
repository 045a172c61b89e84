// VMXON and VMXOFF (SDM Vol. 3C "VMXON—Enter VMX Operation", "VMXOFF—Leave VMX Operation",
// §31.2 conventions; seed §23.7-23.8). Checks follow the pseudocode's order.

extension Machine {
    /// VMsucceed: the six status flags cleared. Recorded as pending flags, those of a logical
    /// operation whose 64-bit result is 1: CF, OF and AF are 0 after a logical operation, and
    /// ZF, SF and PF of 1 are 0 too. Written into RFLAGS instead, the optimizer narrowed the
    /// update to a 16-bit read-modify-write of memory, and the next instruction's 64-bit load of
    /// RFLAGS (VMXOFF's virtual-8086 check) could not be served from the store buffer: a stall
    /// on every VMXON-VMXOFF pair (docs/performance.md, item 29).
    func vmSucceed() {
        lazyKind = .logic
        lazyResult = 1
        lazySize = 8
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
    @inline(__always) private var vmxModeAllowed: Bool {
        state.cr0 & CR0.PE != 0 && state.rflags & RFLAGS.VM == 0 && !(state.inIA32eMode && !state.cs.l)
    }

    @inline(__always) func vmxon(_ op: UnsafePointer<Op>) throws(GuestException) {
        // Without VMX (CPUID.1:ECX[5] = 0) the opcode does not exist.
        if !facts.hasVMX || !vmxModeAllowed || state.cr4 & CR4.VMXE == 0 { throw GuestException.ud }
        if state.vmx.operation == .root {
            // In VMX root operation the operand is not read.
            if state.cpl > 0 { throw fault(.GP) }
            vmFail(15)
            charge(op.pointee, as: .vmxonFail)
            return
        }
        if state.cpl > 0 { throw fault(.GP) }
        if state.signals.a20m { throw fault(.GP) }
        if !Self.fitsFixedBits(state.cr0, fixed0: facts.cr0Fixed0, fixed1: facts.cr0Fixed1)
            || !Self.fitsFixedBits(state.cr4, fixed0: facts.cr4Fixed0, fixed1: facts.cr4Fixed1) {
            throw fault(.GP)
        }
        let featureControl = msrs.featureControl(slot: facts.featureControlSlot)
        if featureControl & FeatureControl.lock == 0 { throw fault(.GP) }
        let enable = state.smx.operation ? FeatureControl.enableVMXInsideSMX : FeatureControl.enableVMXOutsideSMX
        if featureControl & enable == 0 { throw fault(.GP) }

        let pointer = readMemory(try linearAddress(op.pointee), 8)
        let basic = facts.vmxBasic
        if pointer & 0xFFF != 0 || pointer >> UInt64(facts.maxPhysicalAddress) != 0
            || (basic & (1 << 48) != 0 && pointer >> 32 != 0) {
            vmFailInvalid()
            charge(op.pointee, as: .vmxonFail)
            return
        }
        let revision = readMemory(pointer, 4)
        if revision & 0x7FFF_FFFF != basic & 0x7FFF_FFFF || revision & 0x8000_0000 != 0 {
            vmFailInvalid()
            charge(op.pointee, as: .vmxonFail)
            return
        }
        state.vmx.operation = .root
        state.vmx.vmxonPointer = pointer
        state.vmx.currentVMCS = .max
        state.signals.initBlocked = true
        state.signals.a20mBlocked = true
        vmSucceed()
        if hooks.transition != nil { notifyTransition(.vmxOn(vmxonPointer: pointer)) }
    }

    @inline(__always) func vmxoff(_ op: UnsafePointer<Op>) throws(GuestException) {
        if !facts.hasVMX || state.vmx.operation == .none || !vmxModeAllowed { throw GuestException.ud }
        if state.cpl > 0 { throw fault(.GP) }
        if state.vmx.dualMonitor {
            vmFail(23)
            return
        }
        state.vmx.operation = .none
        state.vmx.vmxonPointer = 0
        state.vmx.currentVMCS = .max
        state.signals.initBlocked = false
        // Inside SMX operation A20M stays masked: GETSEC[SENTER] masked it.
        if !state.smx.operation { state.signals.a20mBlocked = false }
        vmSucceed()
        if hooks.transition != nil { notifyTransition(.vmxOff) }
    }
}
