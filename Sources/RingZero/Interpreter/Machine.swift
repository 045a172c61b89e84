/// One emulated logical processor with its memory: the library's central type.
///
/// Create it from a profile, load bytes, set state, `run`. One machine belongs to one thread at a
/// time; many machines may run in one process, each on its own thread.
public final class Machine {
    public let profile: CPUProfile
    public let memory: PhysicalMemory

    /// Every field the semantics change while running lives in one `MachineCore` behind a
    /// stable pointer: reaching it through the pointer carries none of the dynamic exclusivity
    /// checks that a class's stored properties do, so the package needs no unsafe compiler flag.
    /// The properties below forward to it.
    let core: UnsafeMutablePointer<MachineCore>
    /// The exceptions the last run took, kept from run to run (`FaultList`).
    let faultList: UnsafeMutablePointer<FaultList>

    /// The architectural register state.
    public var state: CPUState {
        _read { yield core.pointee.state }
        _modify { yield &core.pointee.state }
    }
    /// Where `state` lives, for reading it without a copy (the fuzzer's comparisons).
    var statePointer: UnsafePointer<CPUState> { UnsafePointer(core).pointer(to: \.state)! }
    /// The MSR values, with the profile's descriptors: a copy, which later instructions do
    /// not change.
    public var msrs: MSRFile { core.pointee.msrs.detached() }
    /// The machine's own MSR file, for the semantics: never copied out (`MSRValues`).
    var msrFile: MSRFile {
        _read { yield core.pointee.msrs }
        _modify { yield &core.pointee.msrs }
    }
    /// Retired instructions and modelled core cycles since the machine was created.
    public internal(set) var instructionCount: UInt64 {
        get { core.pointee.instructionCount }
        set { core.pointee.instructionCount = newValue }
    }
    public internal(set) var cycleCount: UInt64 {
        get { core.pointee.cycleCount }
        set { core.pointee.cycleCount = newValue }
    }
    /// Added to the cycle count to form the time-stamp counter (set by WRMSR to IA32_TIME_STAMP_COUNTER).
    public var tscOffset: UInt64 {
        get { core.pointee.tscOffset }
        set { core.pointee.tscOffset = newValue }
    }
    /// RIP at which the run stops with reason `end` (the first byte after the loaded blob).
    /// Blocks are cut at the end address when they are decoded, so a new end drops the blocks
    /// that could run past it: those decoded from its page (a block's instructions all start
    /// on one page). Blocks cut at an earlier end are merely short, and stay.
    public var endAddress: UInt64? {
        get { core.pointee.endAddress }
        set {
            guard newValue != core.pointee.endAddress else { return }
            core.pointee.endAddress = newValue
            if let end = newValue {
                // Every block with bytes on the page is dropped, so the page holds no code. (An
                // empty arena holds no block: the fuzzer sets a new end on every case.)
                if cache.count > 0 { cache.invalidate(page: end >> 12) }
                if end >> 12 < UInt64(memory.pageCount) { memory.unmarkCodePage(Int(end >> 12)) }
            }
        }
    }

    let decoder: Decoder
    /// Decode the simple register forms, MOV CR, the no-operand privileged instructions and
    /// absolute-address VMXON without Capstone (`DirectDecoder`): the same Ops, at a small
    /// fraction of the cost. For fuzzers and other cold code; off by default (`ringzero run` and
    /// its `--reference` path decode with Capstone alone).
    public var decodesCommonFormsDirectly: Bool {
        get { core.pointee.decodesCommonFormsDirectly }
        set { core.pointee.decodesCommonFormsDirectly = newValue }
    }
    /// Give each fault record the disassembly of its instruction (a Capstone decode per fault).
    /// The fuzzer's fast path turns it off; reports then show `instruction: null` for faults.
    public var describesFaults: Bool {
        get { core.pointee.describesFaults }
        set { core.pointee.describesFaults = newValue }
    }
    /// The profile's cost table, resolved per form.
    public let costs: CostModel
    /// Per cost form: instructions retired as that form (exceptions under `exception`), and
    /// cycles charged beyond `retired × cost` (REP iterations after the first). Raw buffers so
    /// the dispatch loop's increment is one add with no uniqueness check; one allocation, the
    /// extra cycles right after the retired counts (`countersByForm`), so that a restore
    /// copies and a comparison reads them in one go.
    let retiredByForm: UnsafeMutablePointer<UInt64>
    let extraCyclesByForm: UnsafeMutablePointer<UInt64>
    /// Both counter tables, `2 × costs.names.count` values from `retiredByForm` on.
    var countersByForm: UnsafeMutableBufferPointer<UInt64> { .init(start: retiredByForm, count: 2 * costs.names.count) }
    let cache = OpCache()

    /// Snapshots: a random identity (so a snapshot is never mistaken for another machine's).
    let identity = UInt64.random(in: 1 ... .max)

    // Forwarding to the core, for the semantics.
    var facts: ProfileFacts { _read { yield core.pointee.facts } _modify { yield &core.pointee.facts } }
    var snapshotSerial: UInt64 { get { core.pointee.snapshotSerial } set { core.pointee.snapshotSerial = newValue } }
    var baselineSerial: UInt64 { get { core.pointee.baselineSerial } set { core.pointee.baselineSerial = newValue } }
    var lazyKind: LazyFlagsKind { get { core.pointee.lazyKind } set { core.pointee.lazyKind = newValue } }
    var lazyA: UInt64 { get { core.pointee.lazyA } set { core.pointee.lazyA = newValue } }
    var lazyB: UInt64 { get { core.pointee.lazyB } set { core.pointee.lazyB = newValue } }
    var lazyResult: UInt64 { get { core.pointee.lazyResult } set { core.pointee.lazyResult = newValue } }
    var lazyCarry: UInt64 { get { core.pointee.lazyCarry } set { core.pointee.lazyCarry = newValue } }
    var lazySize: UInt8 {
        get { UInt8(truncatingIfNeeded: core.pointee.lazySize) }
        set { core.pointee.lazySize = UInt64(newValue) }
    }
    var hooks: HookTable { _read { yield core.pointee.hooks } _modify { yield &core.pointee.hooks } }
    var watchingMemory: Bool { get { core.pointee.watchingMemory } set { core.pointee.watchingMemory = newValue } }
    var pendingStop: StopReason? { get { core.pointee.pendingStop } set { core.pointee.pendingStop = newValue } }
    var cycleBudget: UInt64 { get { core.pointee.cycleBudget } set { core.pointee.cycleBudget = newValue } }
    var instructionBudget: UInt64 { get { core.pointee.instructionBudget } set { core.pointee.instructionBudget = newValue } }

    public init(profile: CPUProfile, memorySize: UInt64 = 16 << 20) throws {
        try profile.validate()
        self.profile = profile
        let msrFile = MSRFile(descriptors: profile.msrs.map { $0.reservingBitsCPUIDLacks(profile) })
        guard let memory = PhysicalMemory(size: memorySize) else {
            throw MachineError.memoryUnavailable(bytes: memorySize)
        }
        self.memory = memory
        decoder = try Decoder()
        costs = CostModel(profile: profile, msrs: msrFile.descriptors)
        retiredByForm = .allocate(capacity: 2 * costs.names.count)
        retiredByForm.initialize(repeating: 0, count: 2 * costs.names.count)
        extraCyclesByForm = retiredByForm + costs.names.count
        faultList = .allocate(capacity: 1)
        faultList.initialize(to: FaultList())
        core = .allocate(capacity: 1)
        core.initialize(to: MachineCore(msrs: msrFile, facts: ProfileFacts(profile: profile, msrs: msrFile)))
        core.pointee.decodeSlot.initialize(to: Op(handler: .invalidOpcode, address: 0, length: 1, codeMode: .bits64))
        state.txtChipset = profile.txtChipset
    }

    deinit {
        faultList.deinitialize(count: 1)
        faultList.deallocate()
        core.pointee.decodeSlot.deallocate()
        core.deinitialize(count: 1)
        core.deallocate()
        retiredByForm.deallocate()
    }

    /// Retired instructions and cycles per cost form, dearest first; forms never charged are left out.
    public var cyclesByForm: [(form: String, retired: UInt64, cycles: UInt64)] {
        costs.names.indices.compactMap { i -> (form: String, retired: UInt64, cycles: UInt64)? in
            let retired = retiredByForm[i]
            let cycles = retired &* UInt64(costs.cycles[i]) &+ extraCyclesByForm[i]
            return retired == 0 && cycles == 0 ? nil : (costs.names[i], retired, cycles)
        }.sorted { $0.cycles != $1.cycles ? $0.cycles > $1.cycles : $0.form < $1.form }
    }

    /// Charge the instruction being executed as `form` instead of the form it was decoded as
    /// (a not-taken branch, a mode-switching MOV to CR0, a GETSEC leaf...). Call only once no
    /// exception can follow: the loop then adds the Op's own cost and count, which this offsets.
    @inline(__always) func charge(_ op: UnsafePointer<Op>, as form: UInt16) {
        if form == op.pointee.form { return }
        cycleCount &+= UInt64(costs.cycles[Int(form)]) &- UInt64(op.pointee.cost)
        retiredByForm[Int(op.pointee.form)] &-= 1
        retiredByForm[Int(form)] &+= 1
    }

    @inline(__always) func charge(_ op: UnsafePointer<Op>, as form: CostForm) { charge(op, as: form.rawValue) }

    /// Recompute what the semantics cache from the profile and MSR values; call after changing
    /// MSRs from outside the guest.
    public func refreshDerivedState() {
        facts = ProfileFacts(profile: profile, msrs: msrFile)
        cache.removeAll(memory: memory)
    }

    /// Set an MSR from outside the guest (a state file describes the machine, so read-only MSRs
    /// can be set too). Returns false when the profile lacks the MSR.
    @discardableResult
    public func setMSR(_ index: UInt32, _ value: UInt64) -> Bool {
        guard let descriptor = msrFile.descriptor(index) else { return false }
        switch descriptor.rule {
        case .efer: state.efer = value
        case .timeStampCounter: tscOffset = value &- cycleCount
        default: msrFile.setStored(index, value)
        }
        facts = ProfileFacts(profile: profile, msrs: msrFile)
        return true
    }

    /// Whether the profile has the MSR.
    public func hasMSR(_ index: UInt32) -> Bool { msrFile.slot(of: index) != nil }

    /// The value RDMSR would return, ignoring privilege checks; nil when the profile lacks it.
    public func msrValue(_ index: UInt32) -> UInt64? {
        guard let descriptor = msrFile.descriptor(index) else { return nil }
        switch descriptor.rule {
        case .efer: return state.efer
        case .timeStampCounter: return timeStampCounter
        default: return msrFile.storedValue(index)
        }
    }

    var timeStampCounter: UInt64 { cycleCount &- core.pointee.cyclesCountedAhead &+ tscOffset }

    /// Copy bytes into guest memory (does not count as guest stores).
    @discardableResult
    public func load(_ bytes: [UInt8], at address: UInt64) -> Bool {
        bytes.withUnsafeBytes { load($0, at: address) }
    }

    /// `load` from memory outside the guest.
    @discardableResult
    func load(_ bytes: UnsafeRawBufferPointer, at address: UInt64) -> Bool {
        let ok = memory.load(bytes, at: address)
        consumeCodeWrites()
        return ok
    }

    /// Drop the blocks of the code pages stores have reached; `byGuest`: the stores were the
    /// guest's (not `load`'s), and count towards running those pages uncached.
    func consumeCodeWrites(byGuest: Bool = false) {
        if memory.codeWritten {
            if byGuest { core.pointee.codeRewrites.note(memory.writtenCodePages) }
            cache.invalidate(pages: memory.writtenCodePages)
            memory.clearWrittenCodePages()
            memory.codeWritten = false
        }
    }

    /// The disassembly of the instruction at an address in the current code mode.
    public func disassemble(at address: UInt64) -> DecodedInstruction? {
        decoder.describe(memory.peek(address, count: 15), address: address, mode: state.codeMode)
    }
}

/// Why a machine could not be created, other than its profile.
public enum MachineError: Error, CustomStringConvertible, Sendable {
    /// The host could not provide the guest memory asked for.
    case memoryUnavailable(bytes: UInt64)
    /// A snapshot restored into a machine with another profile or memory size.
    case snapshotMismatch

    public var description: String {
        switch self {
        case .memoryUnavailable(let bytes): "cannot allocate \(bytes) bytes of guest memory"
        case .snapshotMismatch: "the snapshot was taken on a machine with another profile or memory size"
        }
    }
}

/// The machine's mutable state, kept together behind `Machine.core`.
struct MachineCore {
    var state = CPUState()
    var msrs: MSRFile
    /// Facts derived from the profile and the read-only MSRs, computed when they can change.
    var facts: ProfileFacts
    var instructionCount: UInt64 = 0
    var cycleCount: UInt64 = 0
    var tscOffset: UInt64 = 0
    var endAddress: UInt64?
    /// The serial of the last snapshot taken, and the one memory dirty-tracking counts from.
    var snapshotSerial: UInt64 = 0
    var baselineSerial: UInt64 = 0
    /// Pending status flags (`LazyFlags.swift`): the last arithmetic instruction's kind,
    /// operands, result, size, and carry-in (or kept CF).
    var lazyKind = LazyFlagsKind.none
    var lazyA: UInt64 = 0
    var lazyB: UInt64 = 0
    var lazyResult: UInt64 = 0
    var lazyCarry: UInt64 = 0
    /// A full word, though it holds 1-8: written by one instruction and read by the next (a
    /// Jcc), it must be stored and loaded at the same width, or the load misses the CPU's
    /// store forwarding (the optimizer widens a byte load here; measured: a stall on every Jcc).
    var lazySize: UInt64 = 8
    /// Hooks registered through the library (`Hooks.swift`), and whether any watches memory.
    var hooks = HookTable()
    var watchingMemory = false
    /// Set by a handler that must leave the block: HLT, an unsupported instruction.
    var pendingStop: StopReason?
    /// The limits of the run in progress, for instructions that loop internally (REP).
    var cycleBudget: UInt64 = .max
    var instructionBudget: UInt64 = .max
    /// The MSR RDMSR or WRMSR found last, with what their common cases need of it (the
    /// profile's MSRs and their cost forms never change).
    var recentMSR = RecentMSR()
    /// The shortcuts' privilege tests, answered once (`Machine.refreshShortcutGate`): bit 0,
    /// CPL 0 outside virtual-8086 mode (`privilegedForShortcut`); bit 1, MSR support. Only the
    /// threaded loop reads it, and it refreshes it whenever those can have changed: when the
    /// loop is entered, after every generic handler, and after LMSW's shortcut when it sets
    /// CR0.PE (the only shortcut that can change CR0.PE).
    var shortcutGate: UInt8 = 0
    /// VMXOFF's mode and privilege tests (VMX supported, protected mode outside virtual-8086
    /// and compatibility mode, CPL 0), answered with `shortcutGate` and refreshed with it.
    var vmxModeReady = false
    /// VMXON's tests before its operand hold (`Machine.vmxonChecksBeforeOperand`): set by
    /// VMXON's shortcut once it has made them, cleared whenever they can have changed: by
    /// `refreshShortcutGate` (loop entry, every generic handler), and by the shortcuts that
    /// write CR0, CR4 or an MSR. A store of a byte there, where the tests read CR0, CR4,
    /// IA32_FEATURE_CONTROL, the mode and CPL (docs/performance.md, item 46).
    var vmxonReady = false
    /// The exception a threaded handler raised, and the Op that did not return `next`, for the
    /// threaded loop to take.
    var threadedError = GuestException.ud
    var threadedStop: UnsafePointer<Op>?
    /// What the threaded loop has counted for the instruction running and those after it in
    /// its block, set only while a handler that reads the counters runs (zero otherwise):
    /// the TSC and the REP budgets take it off. Stored, not subtracted from the counters and
    /// added back: those read-modify-writes chained through memory, instruction to instruction.
    var cyclesCountedAhead: UInt64 = 0
    var instructionsCountedAhead: UInt64 = 0
    /// The block the threaded loop runs, when it ends in a Jcc back to its own start: that
    /// Jcc runs it again itself (`ThreadedHandlers.closeBlock`).
    var selfLoop = SelfLoop()
    /// Pages whose code guest stores keep rewriting, which run uncached (`CodeRewrites`).
    var codeRewrites = CodeRewrites()
    /// `Machine.threadedHandlers`, where `decodeBlock` finds it without a lazy global's check
    /// (handlers and the threaded loop reach an Op's through its `entry`).
    let threadedTable = Machine.threadedHandlers
    /// `CarryHint.table` and `Handler.endsBlockTable`, for `decodeBlock` likewise.
    let carryAfterTable = CarryHint.table
    let endsBlockTable = Handler.endsBlockTable
    /// `Machine.decodesCommonFormsDirectly` and `describesFaults`.
    var decodesCommonFormsDirectly = false
    var describesFaults = true
    /// Where the reference path decodes each instruction (a stable address for the hook).
    let decodeSlot = UnsafeMutablePointer<Op>.allocate(capacity: 1)
    /// Ops built for the loaded code, which `decodeBlock` takes instead of decoding it, set for
    /// a run (`Machine.setPredecoded`).
    var predecoded = PredecodedCode()
    /// Why the run ends, when a step returned `Step.stop` (`Machine.stop(_:)`).
    var blockExit = BlockExit(reason: .end)
    /// How the last run ended (`Machine.outcome(_:)`).
    var lastExit = BlockExit(reason: .end)

    init(msrs: MSRFile, facts: ProfileFacts) {
        self.msrs = msrs
        self.facts = facts
    }
}

/// How a run ends when an instruction ends it: the reason, and the unsupported instruction or
/// the exception.
struct BlockExit {
    var reason: StopReason
    var instruction: String?
    var fault: FaultRecord?
}

/// Profile-derived facts the semantics read often.
struct ProfileFacts {
    var hasVMX: Bool
    var hasSMX: Bool
    var maxPhysicalAddress: Int
    var cr4Allowed: UInt64
    var cr0Fixed0: UInt64
    var cr0Fixed1: UInt64
    var cr4Fixed0: UInt64
    var cr4Fixed1: UInt64
    var vmxBasic: UInt64
    var hasRDTSCP: Bool
    var hasMSR: Bool
    var lahfInLongMode: Bool
    var longModeCapable: Bool
    var hasPCID: Bool
    /// Where IA32_FEATURE_CONTROL sits in the MSR values: VMXON and GETSEC read it each time,
    /// and index it instead of probing the MSR table.
    var featureControlSlot: Int?
    /// The VMXON pointer's bits that must be clear: bits 11:0 (4-KByte alignment), those at
    /// or above MAXPHYADDR, and bits 63:32 when IA32_VMX_BASIC[48] limits VMX structures to
    /// 32-bit physical addresses.
    var vmxonPointerReserved: UInt64
    /// IA32_VMX_BASIC[30:0], the VMCS revision identifier a VMXON region must carry.
    var vmxRevision: UInt32

    init(profile: CPUProfile, msrs: MSRFile) {
        hasVMX = profile.hasVMX
        hasSMX = profile.hasSMX
        maxPhysicalAddress = profile.maxPhysicalAddress
        cr4Allowed = profile.cr4AllowedMask
        cr0Fixed0 = msrs.storedValue(MSRIndex.IA32_VMX_CR0_FIXED0) ?? 0
        cr0Fixed1 = msrs.storedValue(MSRIndex.IA32_VMX_CR0_FIXED1) ?? .max
        cr4Fixed0 = msrs.storedValue(MSRIndex.IA32_VMX_CR4_FIXED0) ?? 0
        cr4Fixed1 = msrs.storedValue(MSRIndex.IA32_VMX_CR4_FIXED1) ?? .max
        vmxBasic = msrs.storedValue(MSRIndex.IA32_VMX_BASIC) ?? 0
        hasRDTSCP = profile.cpuidBit(0x8000_0001, \.edx, 27)
        hasMSR = profile.cpuidBit(1, \.edx, 5)
        lahfInLongMode = profile.cpuidBit(0x8000_0001, \.ecx, 0)
        longModeCapable = profile.cpuidBit(0x8000_0001, \.edx, 29)
        hasPCID = profile.cpuidBit(1, \.ecx, 17)
        featureControlSlot = msrs.slot(of: MSRIndex.IA32_FEATURE_CONTROL)
        let beyondPhysical: UInt64 = maxPhysicalAddress >= 64 ? 0 : ~((1 << UInt64(maxPhysicalAddress)) &- 1)
        vmxonPointerReserved = 0xFFF | beyondPhysical | (vmxBasic & (1 << 48) != 0 ? 0xFFFF_FFFF_0000_0000 : 0)
        vmxRevision = UInt32(truncatingIfNeeded: vmxBasic) & 0x7FFF_FFFF
    }
}
