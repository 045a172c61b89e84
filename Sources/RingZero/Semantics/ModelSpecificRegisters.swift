// RDMSR and WRMSR (SDM Vol. 2 "RDMSR", "WRMSR"; MSR rules from the profile's descriptors).
//
// Order: #UD without MSR support (CPUID.1:EDX[5]); #GP(0) in virtual-8086 mode; #GP(0) at
// CPL > 0; #GP(0) for an MSR the profile lacks; for WRMSR the value checks; then the access.
// ECX selects the MSR and RCX[63:32] is ignored; RDMSR clears RAX[63:32] and RDX[63:32]; WRMSR
// takes EDX:EAX and ignores the upper halves. No flag changes.
//
// RDMSR and WRMSR hooks (`onRDMSR`, `onWRMSR`) are consulted after the privilege checks and
// before the MSR's existence, so they can answer for MSRs the profile lacks.

extension Machine {
    @inline(__always) private func checkMSRAccess() throws(GuestException) {
        if !facts.hasMSR { throw GuestException.ud }
        try checkPrivileged()
    }

    /// The MSR's slot; the last one found is remembered (`RecentMSR`), since code tends to
    /// read and write the same MSR (a read-modify-write, a loop).
    @inline(__always) private func msrSlot(_ index: UInt32) throws(GuestException) -> Int {
        if UInt64(index) == core.pointee.recentMSR.index { return core.pointee.recentMSR.slot }
        guard let slot = lookUpMSR(index) else { throw fault(.GP) }
        return slot
    }

    /// The MSR's slot from the table, remembered as the recent one; nil when the profile lacks it.
    func lookUpMSR(_ index: UInt32) -> Int? {
        guard let slot = msrFile.slot(of: index) else { return nil }
        core.pointee.recentMSR = RecentMSR(index: index, slot: slot, msrFile.behaviours[slot],
                                           readForm: costs.readForm[slot], writeForm: costs.writeForm[slot])
        return slot
    }

    /// Whether the common case's shortcut applies: MSR support, CPL 0 outside virtual-8086
    /// mode (a stricter test than the SDM's, which `checkMSRAccess` makes in full), both as
    /// the threaded loop last answered them (`MachineCore.shortcutGate`), and ECX naming the
    /// MSR looked up last. (MSR support is tested again: the MSR looked up last outlives a
    /// change of the facts, a restore of a state with other CPUID bits, say.)
    /// Hooks need no test: only the threaded loop takes the shortcut, and it runs only while
    /// no hook is registered (`HookTable.isActive`).
    @inline(__always) private var recentMSRApplies: Bool {
        let gate = core.pointee.shortcutGate == Self.gatePrivileged | Self.gateMSR
        assert(gate == (facts.hasMSR && privilegedForShortcut), "the shortcut gate was not refreshed")
        return gate && UInt64(UInt32(truncatingIfNeeded: state.gpr[1])) == core.pointee.recentMSR.index
    }

    /// RDMSR's common case, the one a loop repeats: the MSR looked up last, read from its
    /// stored value, at its plain cost. Returns false, having changed nothing, for anything
    /// else, which `rdmsr` then runs in full. Its threaded handler runs this inline with no
    /// call, so with no stack frame (docs/performance.md, item 30).
    @inline(__always) func rdmsrCommonCase(_ op: UnsafePointer<Op>) -> Bool {
        guard recentMSRApplies else { return false }
        let recent = core.pointee.recentMSR
        guard recent.storedReadForm == op.pointee.form else { return false }
        let value = msrFile.values[recent.slot]
        state.gpr[0] = value & 0xFFFF_FFFF
        state.gpr[2] = value >> 32
        return true
    }

    /// WRMSR's common case, as `rdmsrCommonCase`: a plain store to the MSR looked up last that
    /// passes its checks. A write that faults is left to `wrmsr`, which makes the checks again
    /// in the SDM's order.
    @inline(__always) func wrmsrCommonCase(_ op: UnsafePointer<Op>) -> Bool {
        guard recentMSRApplies else { return false }
        let recent = core.pointee.recentMSR
        guard recent.plainWriteForm == op.pointee.form else { return false }
        let value = (state.gpr[2] << 32) | (state.gpr[0] & 0xFFFF_FFFF)
        let old = msrFile.values[recent.slot]
        // Not read-only: `plainWriteForm` says so.
        guard msrAccepts(value, old: old, recent.behaviour, knownWritable: true) else { return false }
        msrFile.values.storeInPlace(recent.behaviour.stored(value, old: old), at: recent.slot)
        // IA32_FEATURE_CONTROL, say: VMXON tests it again.
        core.pointee.vmxonReady = false
        return true
    }

    /// WRMSR's value checks: a read-only MSR, a locked one (which refuses every write, even of
    /// the value it holds; seed §23.7), a bit of the #GP mask, a non-canonical address. Each
    /// raises the same #GP(0), so their order cannot be observed.
    @inline(__always) private func msrAccepts(_ value: UInt64, old: UInt64, _ b: MSRBehaviour, knownWritable: Bool = false) -> Bool {
        (knownWritable || !b.readOnly) && old & b.lockBit == 0 && value & b.gpMask == 0 && (!b.canonical || isCanonical(value))
    }

    @inline(__always) func rdmsr(_ op: UnsafePointer<Op>) throws(GuestException) {
        try checkMSRAccess()
        let index = UInt32(truncatingIfNeeded: state.gpr[1])
        if let hook = hooks.rdmsr {
            materializeFlags()
            switch hook(self, index) {
            case .normal: break
            case .generalProtection: throw fault(.GP)
            case .value(let value):
                state.gpr[0] = value & 0xFFFF_FFFF
                state.gpr[2] = value >> 32
                return
            }
        }
        let slot = try msrSlot(index)
        let descriptor = msrFile.behaviours[slot]
        let value: UInt64
        switch descriptor.rule {
        case .efer: value = state.efer
        case .timeStampCounter: value = timeStampCounter
        case .smmOnly: throw fault(.GP)
        default: value = msrFile.values[slot]
        }
        state.gpr[0] = value & 0xFFFF_FFFF
        state.gpr[2] = value >> 32
        charge(op, as: costs.readForm[slot])
    }

    @inline(__always) func wrmsr(_ op: UnsafePointer<Op>) throws(GuestException) {
        try checkMSRAccess()
        let index = UInt32(truncatingIfNeeded: state.gpr[1])
        let value = (state.gpr[2] << 32) | (state.gpr[0] & 0xFFFF_FFFF)
        if let hook = hooks.wrmsr {
            materializeFlags()
            switch hook(self, index, value) {
            case .normal: break
            case .generalProtection: throw fault(.GP)
            case .ignore: return
            }
        }
        let slot = try msrSlot(index)
        let descriptor = msrFile.behaviours[slot]
        let old = descriptor.rule == .efer ? state.efer : msrFile.values[slot]
        if !msrAccepts(value, old: old, descriptor) { throw fault(.GP) }
        let stored = descriptor.stored(value, old: old)
        switch descriptor.rule {
        case .plain:
            msrFile.values[slot] = stored
        case .efer:
            // LME may not change while paging is on (SDM Vol. 3A §10.8.5). LMA is read-only
            // (it follows LME and CR0.PG), whatever masks a profile gives: a WRMSR never
            // changes the operating mode, so it need not end a block.
            if state.cr0 & CR0.PG != 0 && (stored ^ old) & EFER.LME != 0 { throw fault(.GP) }
            state.efer = (stored & ~EFER.LMA) | (old & EFER.LMA)
        case .timeStampCounter:
            let moved = value &- timeStampCounter
            tscOffset &+= moved
            if let adjust = msrFile.slot(of: MSRIndex.IA32_TSC_ADJUST) { msrFile.values[adjust] &+= moved }
        case .tscAdjust:
            tscOffset &+= stored &- old
            msrFile.values[slot] = stored
        case .apicBase:
            // x2APIC mode (EXTD, bit 10) needs the APIC enabled (EN, bit 11), and x2APIC mode
            // can only be left by disabling the APIC (SDM Vol. 3A §11.12.5).
            let en: UInt64 = 1 << 11, extd: UInt64 = 1 << 10
            if stored & extd != 0 && stored & en == 0 { throw fault(.GP) }
            if old & (en | extd) == en | extd && stored & (en | extd) == en { throw fault(.GP) }
            msrFile.values[slot] = stored
        case .pat:
            // Each of the eight entries must name UC, WC, WT, WP, WB or UC- (0, 1, 4, 5, 6, 7).
            for i in 0..<8 {
                let entry = (value >> (8 * UInt64(i))) & 0xFF
                if entry > 7 || entry == 2 || entry == 3 { throw fault(.GP) }
            }
            msrFile.values[slot] = stored
        case .smmMonitorControl, .smmOnly:
            // Writable only in SMM, which is not modelled.
            throw fault(.GP)
        }
        charge(op, as: costs.writeForm[slot])
    }
}
