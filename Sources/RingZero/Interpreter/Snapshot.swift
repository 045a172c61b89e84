/// A copy of a whole machine at one moment: registers, MSRs, VMX/SMX state, counters and guest
/// memory. Take one with ``Machine/snapshot()`` and go back to it with ``Machine/restore(_:)``
/// as often as needed; a snapshot never changes, and restoring it leaves it intact.
///
/// Registers and MSRs are plain value copies. Memory is copied once, when the snapshot is
/// taken, and only the pages written so far (the rest of guest memory is still zero). Restoring
/// the machine's most recent snapshot rewrites only the pages the guest wrote since, so its cost
/// grows with the pages dirtied, not with the size of guest memory; decoded instructions stay
/// cached unless a restored page held code.
public struct Snapshot: @unchecked Sendable {
    /// The register and VMX/SMX state.
    public let state: CPUState
    /// Retired instructions and cycles when the snapshot was taken.
    public let instructionCount: UInt64
    public let cycleCount: UInt64
    let msrValues: [UInt64]
    let tscOffset: UInt64
    /// `Machine.countersByForm`: retired instructions, then extra cycles, by form.
    let countersByForm: [UInt64]
    let unbackedReads: UInt64
    let unbackedWrites: UInt64
    let endAddress: UInt64?
    /// The profile facts of the MSR values above (a plain value: recomputing them on every
    /// restore would copy the profile and its MSR descriptors).
    let facts: ProfileFacts
    let memory: MemoryImage
    /// The profile of the machine that took it.
    let profileName: String
    /// Which machine took it, and which of its snapshots it is.
    let owner: UInt64
    let serial: UInt64
}

extension Machine {
    /// Copy the whole machine. The copy becomes the baseline that memory dirty-tracking
    /// measures from, so restoring it later costs in proportion to the pages written since.
    public func snapshot() -> Snapshot {
        consumeCodeWrites()
        materializeFlags()
        let image = memory.capture()
        snapshotSerial &+= 1
        baselineSerial = snapshotSerial
        return Snapshot(
            state: state, instructionCount: instructionCount, cycleCount: cycleCount,
            msrValues: msrFile.values.array, tscOffset: tscOffset,
            countersByForm: Array(countersByForm),
            unbackedReads: memory.unbackedReads, unbackedWrites: memory.unbackedWrites,
            endAddress: endAddress, facts: facts, memory: image, profileName: profile.name, owner: identity, serial: snapshotSerial)
    }

    /// Put the machine back exactly as it was when `snapshot` was taken.
    ///
    /// Restoring this machine's most recent snapshot (or the one last restored) rewrites only
    /// the memory pages written since. Any other snapshot, including one taken by another
    /// machine with the same profile and memory size, rewrites every page either has written.
    /// Throws ``MachineError/snapshotMismatch`` when the snapshot comes from a machine with a
    /// different profile or memory size.
    public func restore(_ snapshot: Snapshot) throws(MachineError) {
        try restore(snapshot, restoringState: true)
    }

    /// `restore`, leaving `state` as it is when `restoringState` is false: for a caller that
    /// sets all of it next (the fuzzer), which spares a copy of it.
    func restore(_ snapshot: Snapshot, restoringState: Bool) throws(MachineError) {
        guard snapshot.profileName == profile.name, snapshot.memory.size == memory.size,
              snapshot.msrValues.count == msrFile.values.count,
              snapshot.countersByForm.count == 2 * costs.names.count
        else { throw MachineError.snapshotMismatch }
        consumeCodeWrites()
        core.pointee.codeRewrites.forget()
        let incremental = snapshot.owner == identity && snapshot.serial == baselineSerial
        let stale = incremental ? memory.restoreDirtyPages(from: snapshot.memory)
            : memory.touchedPages(or: snapshot.memory).withUnsafeBufferPointer { memory.restore($0, from: snapshot.memory) }
        if !stale.isEmpty { cache.invalidate(pages: stale) }
        if incremental { memory.clearDirtyPages() } else { memory.rearm() }
        baselineSerial = snapshot.owner == identity ? snapshot.serial : 0

        if restoringState { state = snapshot.state }
        lazyKind = .none
        msrFile.values.assign(snapshot.msrValues)
        tscOffset = snapshot.tscOffset
        instructionCount = snapshot.instructionCount
        cycleCount = snapshot.cycleCount
        let forms = costs.names.count
        snapshot.countersByForm.withUnsafeBufferPointer { retiredByForm.update(from: $0.baseAddress!, count: 2 * forms) }
        memory.unbackedReads = snapshot.unbackedReads
        memory.unbackedWrites = snapshot.unbackedWrites
        endAddress = snapshot.endAddress
        pendingStop = nil
        facts = snapshot.facts
    }
}
