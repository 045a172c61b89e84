/// A property every reachable machine state has, checked by the fuzzer after every instruction.
/// docs/fuzzing.md explains each one and where it comes from.
public enum Invariant: String, Sendable, CaseIterable {
    /// VMX operation implies CR4.VMXE = 1 (SDM Vol. 3C §23.7: it cannot be cleared there).
    case vmxImpliesVMXE = "vmx-implies-cr4-vmxe"
    /// In VMX operation CR0 and CR4 fit IA32_VMX_CR0/CR4_FIXED0/1 (§23.8).
    case vmxFixedBits = "vmx-fixed-bits"
    /// A locked IA32_FEATURE_CONTROL never changes (§23.7; SDM Vol. 4).
    case lockedFeatureControl = "locked-feature-control-constant"
    /// SMX operation begins only through GETSEC[SENTER] (SDM Vol. 2D ch. 7).
    case smxOnlyBySENTER = "smx-only-by-senter"
    /// RFLAGS bit 1 is set and its reserved bits (3, 5, 15, 22-63) are clear.
    case rflagsReserved = "rflags-reserved-bits"
    /// CPL and mode agree with CS, CR0 and IA32_EFER: CPL 0 in real-address mode, 3 in
    /// virtual-8086 mode; EFER.LMA = EFER.LME AND CR0.PG; CS.L only in IA-32e mode.
    case modeConsistency = "cpl-and-mode-consistent"
    /// The fast path (cached Ops, fast forms, chaining) and the reference path (every
    /// instruction decoded afresh, generic handlers) give the same report, counters included.
    case fastMatchesReference = "fast-path-matches-reference-path"
    /// The run with hooks registered (the generic loop) gives the same report as without.
    case hookedMatchesFast = "hooked-run-matches-plain-run"
    /// The fuzzer's fast path (Ops from `DirectDecoder`, the state applied without JSON) gives
    /// the report `ringzero run` gives for the case's blob and state file (Capstone, JSON).
    case fastPathMatchesReplay = "fast-path-matches-replay"
    /// An unprivileged integer instruction gives the host processor's result and every status
    /// flag the SDM defines for it.
    case hostAgrees = "host-cpu-agrees"
}

/// What the fuzzer found: the invariant, what was seen, and the case (already minimized when
/// it comes from `FuzzEngine`).
public struct Violation: Sendable {
    public var invariant: Invariant
    public var detail: String
    public var fuzzCase: FuzzCase
}

/// Checks the state invariants between instructions of one run.
struct InvariantChecker {
    let fixed: (cr0: (UInt64, UInt64), cr4: (UInt64, UInt64))
    var lockedFeatureControl: UInt64?
    var wasInSMX: Bool
    var previousWasSENTER = false

    /// Where IA32_FEATURE_CONTROL sits in the machine's MSR values (`ProfileFacts`).
    let featureControlSlot: Int?

    init(machine: Machine) {
        let facts = machine.facts
        fixed = ((facts.cr0Fixed0, facts.cr0Fixed1), (facts.cr4Fixed0, facts.cr4Fixed1))
        featureControlSlot = facts.featureControlSlot
        let fc = machine.msrFile.featureControl(slot: featureControlSlot)
        lockedFeatureControl = fc & FeatureControl.lock != 0 ? fc : nil
        wasInSMX = machine.state.smx.operation
    }

    /// Check the machine as it is now; `next` is the handler of the instruction about to run
    /// (nil at the end).
    /// Reads no status flag (the fuzzer calls it with them pending): the RFLAGS check looks at
    /// reserved bits only, the mode check at VM. The tests are made here, the message of a
    /// broken one written out of line (`describe`): the strings' code made every call pay a
    /// large frame.
    mutating func check(_ machine: Machine, next: Handler?) -> (Invariant, String)? {
        // Read in place: a copy of the whole state per instruction was a tenth of the check.
        let p = machine.statePointer
        var s: CPUState { _read { yield p.pointee } }
        if s.vmx.operation == .root {
            if s.cr4 & CR4.VMXE == 0 { return Self.describe(.vmxImpliesVMXE, s) }
            let fits0 = s.cr0 & fixed.cr0.0 == fixed.cr0.0 && s.cr0 & ~fixed.cr0.1 == 0
            let fits4 = s.cr4 & fixed.cr4.0 == fixed.cr4.0 && s.cr4 & ~fixed.cr4.1 == 0
            if !fits0 || !fits4 { return Self.describe(.vmxFixedBits, s) }
        }
        let fc = machine.msrFile.featureControl(slot: featureControlSlot)
        if let locked = lockedFeatureControl {
            if fc != locked { return Self.describe(.lockedFeatureControl, s, locked: locked, now: fc) }
        } else if fc & FeatureControl.lock != 0 {
            lockedFeatureControl = fc
        }
        if s.smx.operation && !wasInSMX && !previousWasSENTER { return Self.describe(.smxOnlyBySENTER, s) }
        wasInSMX = s.smx.operation
        if s.rflags & RFLAGS.reserved1 == 0 || s.rflags & ~(RFLAGS.defined | RFLAGS.reserved1) != 0 {
            return Self.describe(.rflagsReserved, s)
        }
        let mode = s.mode, cpl = s.cpl
        if (mode == .real && cpl != 0) || (mode == .v8086 && cpl != 3) { return Self.describe(.modeConsistency, s, cpl: true) }
        let lma = s.efer & EFER.LMA != 0
        if lma != (s.efer & EFER.LME != 0 && s.cr0 & CR0.PG != 0) { return Self.describe(.modeConsistency, s) }
        if s.cs.l && !lma { return Self.describe(.modeConsistency, s, csL: true) }
        previousWasSENTER = next == .getsec && s[.rax] & 0xFFFF_FFFF == 4
        return nil
    }

    /// The broken invariant with what was seen.
    @inline(never)
    private static func describe(_ invariant: Invariant, _ s: CPUState, locked: UInt64 = 0, now: UInt64 = 0,
                                 cpl: Bool = false, csL: Bool = false) -> (Invariant, String) {
        func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }
        let detail = switch invariant {
        case .vmxImpliesVMXE: "VMX root operation with CR4 = \(hex(s.cr4))"
        case .vmxFixedBits: "VMX root operation with CR0 = \(hex(s.cr0)), CR4 = \(hex(s.cr4))"
        case .lockedFeatureControl: "locked at \(hex(locked)), now \(hex(now))"
        case .smxOnlyBySENTER: "SMX operation began at RIP \(hex(s.rip)) without GETSEC[SENTER]"
        case .rflagsReserved: "RFLAGS = \(hex(s.rflags))"
        case .modeConsistency where cpl: "\(s.mode.rawValue) mode at CPL \(s.cpl)"
        case .modeConsistency where csL: "CS.L set outside IA-32e mode"
        case .modeConsistency: "EFER = \(hex(s.efer)) with CR0 = \(hex(s.cr0))"
        default: invariant.rawValue
        }
        return (invariant, detail)
    }
}
