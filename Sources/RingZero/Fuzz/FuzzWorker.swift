#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One thread's fuzzer: its machines, its generator and its buffers, reused from case to case
/// so that a case costs no allocation on the fast path. See ``FuzzEngine`` for what runs.
public final class FuzzWorker {
    let engine: FuzzEngine
    /// The full check's machines, set up from the state file and decoding with Capstone alone,
    /// with their fresh snapshots.
    let plain: Machine, reference: Machine, hooked: Machine
    let pristine: (Snapshot, Snapshot, Snapshot)
    /// The fast path's machines (`DirectDecoder` on, faults recorded without their text), with
    /// snapshots holding the VMXON operands every generated state file writes.
    let fastPlain: Machine, fastReference: Machine
    let fastPristine: (Snapshot, Snapshot)
    /// Behind a pointer: as a stored `var`, its `inout` use per case was a dynamic
    /// exclusivity check.
    private let generator: UnsafeMutablePointer<CaseGenerator>
    /// The case being run, behind a pointer: as a stored `var` every access was checked for
    /// exclusivity and the buffer copied (its four arrays retained and released) per case.
    private let buffer: UnsafeMutablePointer<CaseBuffer>
    /// The cases of a batch (`evaluate(seed:from:by:count:_:)`).
    private let batch: UnsafeMutablePointer<CaseBuffer>
    /// The batch's cases' built Ops, by place.
    private let built: UnsafeMutablePointer<OpPrototypes.Built?>
    /// Builds both runs' Ops for generated cases (`OpPrototypes`).
    private let prototypes: OpPrototypes
    /// Each mode's default state (`MachineSetup.defaults`), by `OperatingMode.index`.
    private let modeDefaults: [CPUState]
    /// The invariant checkers behind the hooks of the fast reference machine and the full
    /// check's hooked machine, each registered once for the worker's lifetime.
    private let watch = InvariantWatch()
    private let hookedWatch = InvariantWatch()
    /// Keep the fast machines' decoded code from case to case, as a long-running program keeps
    /// it (for tests: a violation then depends on the cases before it, which a reproducer does
    /// not replay).
    var keepsDecodedCode = false
    /// What the fast path found when a case did not simply pass (a violation, a rejection),
    /// set where it is found and taken by `takeUnusual`. The common case carries only its
    /// outcome class: a `FuzzEngine.Result`, large for its violation case, handed up through
    /// the fast path's calls was copied at each (`memcpy` calls, four a case).
    private var unusual: FuzzEngine.Result?

    init(engine: FuzzEngine) throws {
        self.engine = engine
        plain = try Machine(profile: engine.profile)
        reference = try Machine(profile: engine.profile)
        hooked = try Machine(profile: engine.profile)
        pristine = (plain.snapshot(), reference.snapshot(), hooked.snapshot())
        generator = .allocate(capacity: 1)
        generator.initialize(to: CaseGenerator(seed: 0, profile: engine.profile, length: engine.length, mode: engine.mode))
        buffer = .allocate(capacity: 1)
        buffer.initialize(to: CaseBuffer())
        batch = .allocate(capacity: Self.batchSize)
        for k in 0..<Self.batchSize { (batch + k).initialize(to: CaseBuffer()) }
        built = .allocate(capacity: Self.batchSize)
        built.initialize(repeating: nil, count: Self.batchSize)
        fastPlain = try Machine(profile: engine.profile)
        fastReference = try Machine(profile: engine.profile)
        for m in [fastPlain, fastReference] {
            m.decodesCommonFormsDirectly = true
            m.describesFaults = false
            for region in generator.pointee.profileMemory { m.load(region.bytes, at: region.address) }
        }
        fastPristine = (fastPlain.snapshot(), fastReference.snapshot())
        // The ops of the batch's cases, and of `evaluate(seed:index:)`'s (the last place).
        prototypes = OpPrototypes(costs: fastPlain.costs, capacity: engine.length, slots: Self.batchSize + 1)
        let size = fastPlain.memory.size, profile = engine.profile
        modeDefaults = OperatingMode.allCases.map { MachineSetup.defaults(for: $0, memorySize: size, profile: profile) }
        let watch = self.watch, hookedWatch = self.hookedWatch
        fastReference.onInstructionIgnoringStatusFlags { m, op in watch.check(m, next: op.pointee.handler) }
        // Through the public API, as a library user's hook: status flags computed for it.
        hooked.onInstruction { m, op in hookedWatch.check(m, next: op.handler) }
    }

    deinit {
        generator.deinitialize(count: 1)
        generator.deallocate()
        buffer.deinitialize(count: 1)
        buffer.deallocate()
        batch.deinitialize(count: Self.batchSize)
        batch.deallocate()
        built.deinitialize(count: Self.batchSize)
        built.deallocate()
    }

    // MARK: Running cases

    /// Generate case `index` of `seed` and run it: the fast path, and the full check on every
    /// `engine.fullCheckInterval`-th case.
    public func evaluate(seed: UInt64, index: UInt64) -> FuzzEngine.Result {
        engine.generate(seed: seed, index: index, with: &generator.pointee, into: &buffer.pointee)
        let ops = prototypes.build(buffer, at: Self.loadAddress, slot: Self.batchSize)
        return result(runGenerated(index: index, buffer, ops))
    }

    /// A fast-path answer as a result: passed with its outcome class, else what was found.
    @inline(__always)
    private func result(_ outcome: Int?) -> FuzzEngine.Result {
        if let outcome { return .passed(outcome: outcome) }
        return takeUnusual()
    }

    @inline(never)
    private func takeUnusual() -> FuzzEngine.Result {
        defer { unusual = nil }
        return unusual ?? .rejected("the fast path gave no outcome")
    }

    /// Note what the fast path found; always nil, for its callers to return.
    @inline(never)
    private func found(_ r: FuzzEngine.Result) -> Int? {
        unusual = r
        return nil
    }

    /// How many cases `evaluate(seed:from:by:count:_:)` generates before it runs them.
    public static let batchSize = 16

    /// Cases `first`, `first + stride`, ... (`count` of them, at most `batchSize`) of `seed`,
    /// as `evaluate(seed:index:)` runs them, handed to `body` in order. All are generated and
    /// their Ops built first, then run: each stage's code then stays in the instruction cache
    /// from one case to the next, where a case running every stage in turn evicted them all
    /// (docs/performance.md, item 57).
    public func evaluate(seed: UInt64, from first: UInt64, by stride: UInt64, count: Int,
                         _ body: (UInt64, FuzzEngine.Result) -> Void) {
        evaluate(seed: seed, from: first, by: stride, count: count, passed: { body($0, .passed(outcome: $1)) }, other: body)
    }

    /// `evaluate(seed:from:by:count:_:)`, a case that passed handed to `passed` with its
    /// outcome class alone, any other result to `other`: a `FuzzEngine.Result` (144 bytes) made
    /// and copied for every case was two `memcpy` calls a case.
    public func evaluate(seed: UInt64, from first: UInt64, by stride: UInt64, count: Int,
                         passed: (UInt64, Int) -> Void, other: (UInt64, FuzzEngine.Result) -> Void) {
        let n = min(count, Self.batchSize)
        for k in 0..<n {
            engine.generate(seed: seed, index: first &+ UInt64(k) &* stride, with: &generator.pointee, into: &batch[k])
            built[k] = prototypes.build(batch + k, at: Self.loadAddress, slot: k)
        }
        for k in 0..<n {
            let index = first &+ UInt64(k) &* stride
            if let outcome = runGenerated(index: index, batch + k, built[k]) {
                passed(index, outcome)
            } else {
                other(index, takeUnusual())
            }
        }
    }

    /// Run the generated case in `buffer` (case `index`), whose Ops `ops` holds: its outcome
    /// class, or nil with what was found in `unusual`. A violation is confirmed by the full
    /// check, which also runs on every `fullCheckInterval`-th case.
    private func runGenerated(index: UInt64, _ buffer: UnsafeMutablePointer<CaseBuffer>, _ ops: OpPrototypes.Built?) -> Int? {
        var ops = ops
        // Every so often the reference run decodes every instruction afresh instead.
        let decodesAfresh = index % max(engine.referenceDecodeInterval, 1) == 0
        if decodesAfresh { ops?.generic = UnsafeBufferPointer(start: nil, count: 0) }
        let outcome = runFast(start: buffer.pointee.start, host: buffer.pointee.hostCheck, code: UnsafeBufferPointer(buffer.pointee.storage),
                              count: buffer.pointee.count, ops: ops) { buffer.pointee.fuzzCase }
        guard let outcome else {
            if case .violated(let v) = unusual { unusual = confirm(v) }
            return nil
        }
        guard index % max(engine.fullCheckInterval, 1) == 0 else { return outcome }
        return fullCheck(buffer)
    }

    /// The full check of the case in `buffer`, as the fast path answers.
    @inline(never)
    private func fullCheck(_ buffer: UnsafeMutablePointer<CaseBuffer>) -> Int? {
        let r = fullCheck(buffer.pointee.fuzzCase)
        if case .passed(let outcome) = r { return outcome }
        return found(r)
    }

    /// Run a case given as a value (minimizing, tests): the fast path when its state is the
    /// generator's, then always the full check.
    public func evaluate(_ c: FuzzCase) -> FuzzEngine.Result {
        if c.hasGeneratedState {
            let blob = c.blob
            let fast = blob.withUnsafeBufferPointer {
                runFast(start: c.start, host: c.hostCheck, code: $0, count: $0.count, ops: nil) { c }
            }
            if fast == nil {
                let r = takeUnusual()
                if case .violated(let v) = r { return confirm(v) }
                return r
            }
        }
        return fullCheck(c)
    }

    /// A violation the fast path found, checked the way a reproducer replays: when the full
    /// check (state file, Capstone) finds one too, that is the violation to report; when it
    /// does not, the fault is in the fast path itself (`DirectDecoder` or the direct state
    /// setup), and the violation says so.
    private func confirm(_ v: Violation) -> FuzzEngine.Result {
        switch fullCheck(v.fuzzCase) {
        case .violated(let replayed): return .violated(replayed)
        case .rejected(let why): return .rejected(why)
        case .passed:
            return .violated(Violation(
                invariant: .fastPathMatchesReplay,
                detail: "the fast path broke \(v.invariant.rawValue) (\(v.detail)); the case replayed as ringzero run runs it does not",
                fuzzCase: v.fuzzCase))
        }
    }

    // MARK: The fast path

    /// Set both fast machines up for a case.
    private func setUp(start: StartingState?, host: HostCheck?, code: UnsafeRawBufferPointer) -> String? {
        if let why = apply(start, host: host, code: code, to: fastPlain, from: fastPristine.0) { return why }
        return apply(start, host: host, code: code, to: fastReference, from: fastPristine.1)
    }

    /// Where `ringzero run` loads a blob, as a reproducer's replay does.
    static let loadAddress = MachineSetup.defaultLoadAddress

    /// Do to `m` what `MachineSetup.configure` does with the case's state file, field by field,
    /// without JSON: the mode's defaults, the registers, CPL, IA32_FEATURE_CONTROL, VMX and SMX
    /// operation, A20M, the chipset, then the blob. (The VMXON operands every file writes are in
    /// the snapshot.) The full checks compare the result with the state file's.
    private func apply(_ start: StartingState?, host: HostCheck?, code: UnsafeRawBufferPointer, to m: Machine, from snapshot: Snapshot) -> String? {
        // Each case starts with no decoded code, so that it runs as its reproducer replays
        // (a block cached by an earlier case on a page the restore leaves alone would carry
        // that case's history into this one). Before the restore, which then finds no code to
        // drop block by block.
        if !keepsDecodedCode { m.cache.removeAll(memory: m.memory) }
        // The state is set in full below.
        do { try m.restore(snapshot, restoringState: false) } catch { return "\(error)" }
        if let host {
            m.state = modeDefaults[OperatingMode.long.index]
            m.state[.rax] = host.a
            m.state[.rbx] = host.b
            m.state[.rcx] = host.b
            m.state.rflags = (host.flags & RFLAGS.status) | RFLAGS.reserved1
        } else if let start {
            m.state = modeDefaults[start.mode.index]
            m.state.cr0 = start.cr0
            m.state.cr4 = start.cr4
            m.state.rflags = (start.rflags & RFLAGS.defined) | RFLAGS.reserved1
            if let cpl = start.cpl {
                m.state.cs.dpl = cpl
                m.state.ss.dpl = cpl
            }
            // A plain stored MSR: the profile facts do not depend on it.
            if let fc = start.featureControl { m.msrFile.setStored(MSRIndex.IA32_FEATURE_CONTROL, fc) }
            if start.vmxRoot {
                m.state.vmx.operation = .root
                m.state.vmx.vmxonPointer = 0x3000
                m.state.vmx.currentVMCS = start.currentVMCS ? 0x6000 : .max
                m.state.vmx.dualMonitor = start.dualMonitor
            }
            m.state.smx.operation = start.smxOperation
            m.state.signals.a20m = start.a20m
            if let txt = start.txtChipset { m.state.txtChipset = txt }
        } else {
            return "a case with neither a generated state nor a host check"
        }
        guard m.load(code, at: Self.loadAddress) else { return "the blob does not fit in guest memory" }
        m.endAddress = Self.loadAddress + UInt64(code.count)
        m.state.rip = Self.loadAddress
        m.memory.watchWrites()
        return nil
    }

    /// The fast path: plain and reference-with-invariants on the fast machines, on the first
    /// `count` bytes of `code`; the runs take `ops`, when given, instead of decoding
    /// (`OpPrototypes`). `makeCase` builds the case value only when there is something to report.
    /// Both machines are set up before either runs: the setting up's code is then still in the
    /// instruction cache for the second, as the handlers the plain run used are for the
    /// reference run.
    private func runFast(start: StartingState?, host: HostCheck?, code: UnsafeBufferPointer<UInt8>, count: Int,
                         ops: OpPrototypes.Built?, _ makeCase: () -> FuzzCase) -> Int? {
        if let why = setUp(start: start, host: host, code: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(code)[0..<count])) {
            return found(.rejected(why))
        }
        let options = RunOptions(maxInstructions: engine.maxInstructions, onFault: .continue)
        // (Set and cleared around the runs, not in closures: a closure's result was copied.)
        if let ops { fastPlain.setPredecoded(ops.fast, mode: ops.mode) }
        let plainEnd = fastPlain.runInPlace(options)
        fastPlain.clearPredecoded()

        var referenceOptions = options
        referenceOptions.referencePath = true
        watch.begin(fastReference)
        if let ops, !ops.generic.isEmpty { fastReference.setPredecoded(ops.generic, mode: ops.mode) }
        let referenceEnd = fastReference.runInPlace(referenceOptions)
        fastReference.clearPredecoded()
        if let (invariant, detail) = watch.finish(fastReference) {
            return found(.violated(Violation(invariant: invariant, detail: detail, fuzzCase: makeCase())))
        }
        if !Self.sameResult(plainEnd, fastPlain, referenceEnd, fastReference) {
            let detail = Self.difference(plainEnd, fastPlain, referenceEnd, fastReference)
            return found(.violated(Violation(invariant: .fastMatchesReference, detail: detail, fuzzCase: makeCase())))
        }
        if let host, let detail = Self.disagreement(host, fastPlain) {
            return found(.violated(Violation(invariant: .hostAgrees, detail: detail, fuzzCase: makeCase())))
        }
        return FuzzEngine.outcomeClass(plainEnd, fastPlain)
    }

    /// Whether two runs ended identically: everything a report shows (the outcome, registers,
    /// MSRs, counters by form), and guest memory, which it does not: the pages either machine
    /// wrote since its memory was set up for the case (or since its last snapshot baseline).
    /// The runs are the machines' last (`Machine.runInPlace`), which ended for `a` and `b`.
    static func sameResult(_ a: StopReason, _ m: Machine, _ b: StopReason, _ n: Machine) -> Bool {
        guard a == b, m.sameFaultsAndExit(as: n), sameState(m, n), m.msrFile.values == n.msrFile.values, m.tscOffset == n.tscOffset,
              m.instructionCount == n.instructionCount, m.cycleCount == n.cycleCount,
              m.memory.unbackedReads == n.memory.unbackedReads, m.memory.unbackedWrites == n.memory.unbackedWrites
        else { return false }
        // Retired counts and extra cycles by form, one buffer (`Machine.countersByForm`).
        let forms = 2 * m.costs.names.count * MemoryLayout<UInt64>.stride
        guard memcmp(m.retiredByForm, n.retiredByForm, forms) == 0 else {
            return false
        }
        // Both started from the same memory (`setUp`): only the pages either wrote since can
        // differ. Usually both wrote the same ones (often none): compare them once.
        let a = m.memory.pagesWrittenSinceWatch, b = n.memory.pagesWrittenSinceWatch
        if a.elementsEqual(b) { return m.memory.samePages(as: n.memory, a) }
        return m.memory.samePages(as: n.memory, a) && m.memory.samePages(as: n.memory, b)
    }

    /// How the last runs of `m` (ended for `a`) and `n` (for `b`) differ, as their reports show
    /// it; built only once `sameResult` has found a difference.
    @inline(never)
    static func difference(_ a: StopReason, _ m: Machine, _ b: StopReason, _ n: Machine) -> String {
        let detail = FuzzEngine.difference(Report(machine: m, outcome: m.outcome(a)).json,
                                           Report(machine: n, outcome: n.outcome(b)).json)
        return detail.isEmpty ? "guest memory or per-form counters differ" : detail
    }

    /// `m.state == n.state` without copying either: equal bytes are equal registers (the
    /// state is plain values), so only states whose bytes differ, perhaps in padding alone, are
    /// compared field by field.
    static func sameState(_ m: Machine, _ n: Machine) -> Bool {
        let a = UnsafeRawPointer(m.statePointer), b = UnsafeRawPointer(n.statePointer)
        return memcmp(a, b, MemoryLayout<CPUState>.size) == 0 || m.statePointer.pointee == n.statePointer.pointee
    }

    // MARK: The full check

    /// The case as `ringzero run` replays it: from its state file, decoded by Capstone alone,
    /// three ways; the three reports must agree, and with the fast path's when it has one.
    func fullCheck(_ c: FuzzCase) -> FuzzEngine.Result {
        let setup = MachineSetup(profile: engine.profile, state: c.state)
        do {
            for (m, snapshot) in [(plain, pristine.0), (reference, pristine.1), (hooked, pristine.2)] {
                try m.restore(snapshot)
                try setup.configure(m, blob: c.blob)
                // From here the runs' stores are listed, for `sameResult` to compare.
                m.memory.watchWrites()
            }
        } catch {
            return .rejected("\(error)")
        }
        // The runs are compared as `sameResult` compares the fast path's: everything a report
        // shows, and the memory written. Reports, which cost as much as 70 fast-path cases
        // together, are built only to describe a difference.
        let options = RunOptions(maxInstructions: engine.maxInstructions, onFault: .continue)
        let plainEnd = plain.runInPlace(options)

        var referenceOptions = options
        referenceOptions.referencePath = true
        let referenceEnd = reference.runInPlace(referenceOptions)
        if !Self.sameResult(plainEnd, plain, referenceEnd, reference) {
            return .violated(Violation(invariant: .fastMatchesReference,
                                       detail: Self.difference(plainEnd, plain, referenceEnd, reference), fuzzCase: c))
        }

        hookedWatch.begin(hooked)
        let hookedEnd = hooked.runInPlace(options)
        if let (invariant, detail) = hookedWatch.finish(hooked) {
            return .violated(Violation(invariant: invariant, detail: detail, fuzzCase: c))
        }
        if !Self.sameResult(plainEnd, plain, hookedEnd, hooked) {
            return .violated(Violation(invariant: .hookedMatchesFast,
                                       detail: Self.difference(plainEnd, plain, hookedEnd, hooked), fuzzCase: c))
        }
        if let check = c.hostCheck, let detail = Self.disagreement(check, plain) {
            return .violated(Violation(invariant: .hostAgrees, detail: detail, fuzzCase: c))
        }
        // The fast path's own run of the case, with fault texts this time, must end the same,
        // memory included: the state file sets up what the fast path's direct setting up does.
        if c.hasGeneratedState {
            fastPlain.describesFaults = true
            defer { fastPlain.describesFaults = false }
            let blob = c.blob
            if let why = blob.withUnsafeBytes({ setUp(start: c.start, host: c.hostCheck, code: $0) }) { return .rejected(why) }
            let fastEnd = fastPlain.runInPlace(options)
            if !Self.sameResult(fastEnd, fastPlain, plainEnd, plain) {
                return .violated(Violation(invariant: .fastPathMatchesReplay,
                                           detail: Self.difference(fastEnd, fastPlain, plainEnd, plain), fuzzCase: c))
            }
        }
        return .passed(outcome: FuzzEngine.outcomeClass(plainEnd, plain))
    }

    /// How the interpreter's result differs from the host's, if it does.
    static func disagreement(_ check: HostCheck, _ m: Machine) -> String? {
        let host = check.hostResult()
        let value = m.state[.rax] & sizeMask(check.size)
        let defined = check.definedFlags
        let ours = m.state.rflags & defined, theirs = host.flags & defined
        if value == host.value && ours == theirs { return nil }
        func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }
        return "\(check.operation) size \(check.size) a=\(hex(check.a)) b=\(hex(check.b)) flags=\(hex(check.flags)): "
            + "RingZero \(hex(value)) flags \(hex(ours)), host \(hex(host.value)) flags \(hex(theirs)) (defined flags \(hex(defined)))"
    }
}

/// An invariant checker behind a hook registered once for the worker's lifetime (a hook per
/// case would allocate a closure per case). Its state sits behind a pointer: as stored `var`s
/// of a class it would pay two dynamic exclusivity checks per instruction.
final class InvariantWatch {
    private struct State {
        var checker: InvariantChecker?
        var found: (Invariant, String)?
    }
    private let state: UnsafeMutablePointer<State>

    init() {
        state = .allocate(capacity: 1)
        state.initialize(to: State())
    }

    deinit {
        state.deinitialize(count: 1)
        state.deallocate()
    }

    /// The invariant broken during the run, or at its end (checked once more after it).
    func finish(_ machine: Machine) -> (Invariant, String)? {
        if state.pointee.found == nil { _ = check(machine, next: nil) }
        return state.pointee.found
    }

    func begin(_ machine: Machine) {
        state.pointee.checker = InvariantChecker(machine: machine)
        state.pointee.found = nil
    }

    func check(_ machine: Machine, next: Handler?) -> HookAction {
        guard state.pointee.found == nil, state.pointee.checker != nil else { return .stop }
        if let v = state.pointee.checker!.check(machine, next: next) {
            state.pointee.found = v
            return .stop
        }
        return .proceed
    }
}
