// MOV to/from CR0, CR2, CR3, CR4, CR8, CLTS and LMSW (SDM Vol. 2 "MOV—Move to/from Control
// Registers", "CLTS", "LMSW"; Vol. 3A §2.5; seed §23.8 for VMX operation).
//
// Check order: #UD for a control register that does not exist (decided at decode), then
// #GP(0) in virtual-8086 mode, then #GP(0) at CPL > 0, then the value checks, all before any
// state changes. Every value check raises the same #GP(0), so their relative order cannot be
// observed. The arithmetic flags, undefined after MOV CR, are left unchanged.

extension Machine {
    /// V86 mode, then CPL > 0: the privilege checks every instruction of this family makes.
    @inline(__always) func checkPrivileged() throws(GuestException) {
        if state.rflags & RFLAGS.VM != 0 && state.cr0 & CR0.PE != 0 { throw fault(.GP) }
        if state.cpl > 0 { throw fault(.GP) }
    }

    /// A CR0 or CR4 value VMX operation accepts: every FIXED0 bit set, no bit outside FIXED1.
    @inline(__always) static func fitsFixedBits(_ value: UInt64, fixed0: UInt64, fixed1: UInt64) -> Bool {
        value & fixed0 == fixed0 && value & ~fixed1 == 0
    }

    var inVMXOperation: Bool { state.vmx.operation != .none }

    /// CPL 0 outside virtual-8086 mode, for the common cases' shortcuts: stricter than
    /// `checkPrivileged` (RFLAGS.VM set in real-address mode refuses too), which the full
    /// semantics then make in the SDM's order.
    @inline(__always) var privilegedForShortcut: Bool { state.rflags & RFLAGS.VM == 0 && state.cpl == 0 }

    static let gatePrivileged: UInt8 = 1
    static let gateMSR: UInt8 = 2

    /// Answer the shortcuts' privilege tests once (`MachineCore.shortcutGate`), instead of in
    /// every shortcut: a load and a test, where CPL alone reads CR0, EFER, RFLAGS and CS.
    @inline(__always) func refreshShortcutGate() {
        let privileged = privilegedForShortcut
        core.pointee.shortcutGate = (privileged ? Self.gatePrivileged : 0) | (facts.hasMSR ? Self.gateMSR : 0)
        core.pointee.vmxModeReady = privileged && facts.hasVMX && vmxModeAllowed
        core.pointee.vmxonReady = false
    }

    /// `privilegedForShortcut` as the threaded loop last answered it (a debug build checks
    /// that the answer still holds).
    @inline(__always) var shortcutPrivileged: Bool {
        let gate = core.pointee.shortcutGate & Self.gatePrivileged != 0
        assert(gate == privilegedForShortcut, "the shortcut gate was not refreshed after a change of CPL or RFLAGS.VM")
        return gate
    }

    @inline(__always) func movToCR(_ op: UnsafePointer<Op>) throws(GuestException) {
        try checkPrivileged()
        let value = movToCRSource(op)
        let old: UInt64
        switch op.pointee.cond {
        case 0:
            old = state.cr0
            try writeCR0(value)
            if (old ^ state.cr0) & (CR0.PE | CR0.PG) != 0 { charge(op, as: .movToCR0ModeSwitch) }
        case 2:
            old = state.cr2
            state.cr2 = value
        case 3:
            old = state.cr3
            try writeCR3(value)
            // With PCIDE = 1, bit 63 asks not to flush the TLB entries of the PCID.
            if state.cr4 & CR4.PCIDE != 0 && value >> 63 != 0 { charge(op, as: .movToCR3NoFlush) }
        case 4:
            old = state.cr4
            try writeCR4(value)
        default:
            old = state.cr8
            try writeCR8(value)
        }
        if hooks.controlRegisterWrite != nil { notifyControlRegisterWrite(Int(op.pointee.cond), old, controlRegister(Int(op.pointee.cond))) }
    }

    /// The value of CR0, CR2, CR3, CR4 or CR8.
    @inline(__always) func controlRegister(_ n: Int) -> UInt64 {
        switch n {
        case 0: state.cr0
        case 2: state.cr2
        case 3: state.cr3
        case 4: state.cr4
        default: state.cr8
        }
    }

    /// MOV to CR's source: the whole GPR in 64-bit code, its low 32 bits elsewhere.
    @inline(__always) private func movToCRSource(_ op: UnsafePointer<Op>) -> UInt64 {
        let value = readGPR(op.pointee.srcReg, 8)
        return op.pointee.codeMode == .bits64 ? value : value & 0xFFFF_FFFF
    }

    @inline(__always) func movFromCR(_ op: UnsafePointer<Op>) throws(GuestException) {
        try checkPrivileged()
        copyControlRegister(op)
    }

    /// MOV from CR once allowed: 64 bits in 64-bit code, 32 (zero-extended) elsewhere.
    @inline(__always) private func copyControlRegister(_ op: UnsafePointer<Op>) {
        writeGPR(op.pointee.dstReg, op.pointee.codeMode == .bits64 ? 8 : 4, controlRegister(Int(op.pointee.cond)))
    }

    /// The common cases of the family, the ones a loop repeats, for the threaded handlers'
    /// shortcuts (as `rdmsrCommonCase`): each does what the full semantics do, with no call,
    /// or returns false having changed nothing, and the full semantics then run. Hooks need no
    /// test: the threaded loop runs only while none is registered.
    ///
    /// MOV from CR at CPL 0.
    @inline(__always) func movFromCRCommonCase(_ op: UnsafePointer<Op>) -> Bool {
        guard shortcutPrivileged else { return false }
        copyControlRegister(op)
        return true
    }

    /// MOV to CR2, CR4 or CR8 at CPL 0 with a value that passes every check without reading
    /// memory (a CR4 write that reloads the PDPTEs is left to `movToCR`, as are CR0 and CR3,
    /// whose writes can switch modes or read the PDPTEs).
    @inline(__always) func movToCRCommonCase(_ op: UnsafePointer<Op>) -> Bool {
        guard shortcutPrivileged else { return false }
        let value = movToCRSource(op)
        switch op.pointee.cond {
        case 2:
            state.cr2 = value
        case 4:
            guard cr4ValueAllowed(value) && !cr4WriteReloadsPDPTEs(value) else { return false }
            state.cr4 = value
            core.pointee.vmxonReady = false
        case 8:
            guard cr8ValueAllowed(value) else { return false }
            state.cr8 = value
        default:
            return false
        }
        return true
    }

    /// CLTS at CPL 0 where VMX operation does not hold CR0.TS at 1.
    @inline(__always) func cltsCommonCase(_ op: UnsafePointer<Op>) -> Bool {
        guard shortcutPrivileged else { return false }
        let value = state.cr0 & ~CR0.TS
        guard cr0FitsVMX(value) else { return false }
        state.cr0 = value
        core.pointee.vmxonReady = false
        return true
    }

    /// LMSW of a register at CPL 0 where VMX operation allows the result.
    @inline(__always) func lmswCommonCase(_ op: UnsafePointer<Op>) -> Bool {
        guard shortcutPrivileged && op.pointee.dstKind == .reg else { return false }
        let old = state.cr0
        let value = lmswResult(readGPR(op.pointee.dstReg, 2))
        guard cr0FitsVMX(value) else { return false }
        state.cr0 = value
        // Setting CR0.PE changes the mode and with it CPL, which the gates answer; MP, EM and
        // TS only what VMXON tests.
        if (old ^ value) & CR0.PE != 0 { refreshShortcutGate() } else { core.pointee.vmxonReady = false }
        return true
    }

    /// CR0 as VMX operation allows it: anything outside VMX operation, else inside the
    /// IA32_VMX_CR0_FIXED0/1 masks.
    @inline(__always) private func cr0FitsVMX(_ value: UInt64) -> Bool {
        !inVMXOperation || Self.fitsFixedBits(value, fixed0: facts.cr0Fixed0, fixed1: facts.cr0Fixed1)
    }

    /// CR0 after LMSW of `source`: bits 3:0 (PE, MP, EM, TS) from it, PE never cleared.
    @inline(__always) private func lmswResult(_ source: UInt64) -> UInt64 {
        let old = state.cr0
        return (old & ~0xF) | (source & 0xF) | (old & CR0.PE)
    }

    /// MOV to CR0: the SDM's #GP(0) conditions, then the IA-32e mode transitions.
    func writeCR0(_ requested: UInt64) throws(GuestException) {
        let old = state.cr0
        if requested >> 32 != 0 { throw fault(.GP) }
        // Reserved bits ignore writes and ET is hardwired to 1.
        let value = (requested & CR0.implemented) | CR0.ET
        if value & CR0.PG != 0 && value & CR0.PE == 0 { throw fault(.GP) }
        if value & CR0.NW != 0 && value & CR0.CD == 0 { throw fault(.GP) }
        if !cr0FitsVMX(value) { throw fault(.GP) }
        let enablingPaging = old & CR0.PG == 0 && value & CR0.PG != 0
        let disablingPaging = old & CR0.PG != 0 && value & CR0.PG == 0
        if enablingPaging && state.efer & EFER.LME != 0 {
            // IA-32e mode activation needs PAE and may not start in a 64-bit code segment.
            if state.cr4 & CR4.PAE == 0 || state.cs.l { throw fault(.GP) }
        }
        if disablingPaging && (state.in64BitMode || state.cr4 & CR4.PCIDE != 0) { throw fault(.GP) }
        // CR0.WP cannot be cleared while CR4.CET = 1.
        if value & CR0.WP == 0 && state.cr4 & CR4.CET != 0 { throw fault(.GP) }
        // With PAE paging in effect afterwards, a change to PG, CD or NW reloads the PDPTEs.
        if (old ^ value) & (CR0.PG | CR0.CD | CR0.NW) != 0
            && paePagingActive(cr0: value, cr4: state.cr4, efer: state.efer) && !pdptesValid(cr3: state.cr3) {
            throw fault(.GP)
        }
        state.cr0 = value
        if enablingPaging && state.efer & EFER.LME != 0 { state.efer |= EFER.LMA }
        if disablingPaging && state.efer & EFER.LMA != 0 { state.efer &= ~EFER.LMA }
    }

    /// MOV to CR3: in IA-32e mode, bits at or above MAXPHYADDR are reserved (bit 63 is the
    /// no-flush hint when CR4.PCIDE = 1 and is not stored).
    func writeCR3(_ requested: UInt64) throws(GuestException) {
        var value = requested
        if state.cr4 & CR4.PCIDE != 0 { value &= ~(1 << 63) }
        if state.inIA32eMode && value >> UInt64(facts.maxPhysicalAddress) != 0 { throw fault(.GP) }
        if paePagingActive(cr0: state.cr0, cr4: state.cr4, efer: state.efer) && !pdptesValid(cr3: value) { throw fault(.GP) }
        state.cr3 = value
    }

    /// MOV to CR4: reserved bits are those whose CPUID feature the profile lacks.
    @_transparent func writeCR4(_ value: UInt64) throws(GuestException) {
        if !cr4ValueAllowed(value) { throw fault(.GP) }
        if cr4WriteReloadsPDPTEs(value) && !pdptesValid(cr3: state.cr3) { throw fault(.GP) }
        state.cr4 = value
    }

    /// MOV to CR4's checks but the PDPTE reload's: false when the value raises #GP(0).
    @inline(__always) private func cr4ValueAllowed(_ value: UInt64) -> Bool {
        let old = state.cr4
        if value >> 32 != 0 || value & ~facts.cr4Allowed != 0 { return false }
        if state.inIA32eMode && (value & CR4.PAE == 0 || (value ^ old) & CR4.LA57 != 0) { return false }
        if old & CR4.PCIDE == 0 && value & CR4.PCIDE != 0 && (!state.inIA32eMode || state.cr3 & 0xFFF != 0) {
            return false
        }
        // CR4.CET cannot be set while CR0.WP = 0.
        if value & CR4.CET != 0 && state.cr0 & CR0.WP == 0 { return false }
        return !inVMXOperation || Self.fitsFixedBits(value, fixed0: facts.cr4Fixed0, fixed1: facts.cr4Fixed1)
    }

    /// Whether writing `value` to CR4 reloads the PDPTEs: with PAE paging in effect
    /// afterwards, a change to PAE, PGE, PSE or SMEP.
    @inline(__always) private func cr4WriteReloadsPDPTEs(_ value: UInt64) -> Bool {
        (state.cr4 ^ value) & (CR4.PAE | CR4.PGE | CR4.PSE | CR4.SMEP) != 0
            && paePagingActive(cr0: state.cr0, cr4: value, efer: state.efer)
    }

    /// PAE paging: CR0.PG = 1, CR4.PAE = 1 and IA32_EFER.LME = 0 (SDM Vol. 3A §4.1.1).
    @inline(__always) func paePagingActive(cr0: UInt64, cr4: UInt64, efer: UInt64) -> Bool {
        cr0 & CR0.PG != 0 && cr4 & CR4.PAE != 0 && efer & EFER.LME == 0
    }

    /// Loading the four PDPTEs that CR3[31:5] points to (SDM Vol. 3A §4.4.1, Table 4-8): a present
    /// entry may not set bits 2:1, 8:5 or any bit at or above MAXPHYADDR. Reads outside guest
    /// memory return all ones, so a CR3 there fails as it would on a bus that floats high.
    func pdptesValid(cr3: UInt64) -> Bool {
        let reserved: UInt64 = 0x1E6 | (~0 << UInt64(facts.maxPhysicalAddress))
        let table = cr3 & 0xFFFF_FFE0
        for i: UInt64 in 0..<4 {
            let entry = readMemory(table + 8 * i, 8)
            if entry & 1 != 0 && entry & reserved != 0 { return false }
        }
        return true
    }

    /// MOV to CR8's check: only bits 3:0 (TPR[7:4]) exist.
    @inline(__always) private func cr8ValueAllowed(_ value: UInt64) -> Bool { value & ~0xF == 0 }

    /// MOV to CR8.
    @inline(__always) func writeCR8(_ value: UInt64) throws(GuestException) {
        if !cr8ValueAllowed(value) { throw fault(.GP) }
        state.cr8 = value
    }

    /// CLTS: CR0.TS := 0, unless VMX operation fixes TS to 1.
    @inline(__always) func clts(_ op: UnsafePointer<Op>) throws(GuestException) {
        try checkPrivileged()
        let old = state.cr0
        let value = old & ~CR0.TS
        if !cr0FitsVMX(value) { throw fault(.GP) }
        state.cr0 = value
        if hooks.controlRegisterWrite != nil { notifyControlRegisterWrite(0, old, value) }
    }

    /// LMSW: loads CR0[3:0] (PE, MP, EM, TS) from a 16-bit source; PE can be set, never cleared.
    @inline(__always) func lmsw(_ op: UnsafePointer<Op>) throws(GuestException) {
        try checkPrivileged()
        let source: UInt64
        switch op.pointee.dstKind {
        case .mem: source = readMemory(try linearAddress(op), 2)
        case .regHigh8: source = (state.gpr[Int(op.pointee.dstReg)] >> 8) & 0xFF
        default: source = readGPR(op.pointee.dstReg, 2)
        }
        let old = state.cr0
        let value = lmswResult(source)
        if !cr0FitsVMX(value) { throw fault(.GP) }
        state.cr0 = value
        if hooks.controlRegisterWrite != nil { notifyControlRegisterWrite(0, old, value) }
    }
}
