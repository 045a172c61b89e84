/// Runs fuzz cases and judges them: every case runs three ways and must satisfy every
/// ``Invariant``.
///
/// 1. plain: the fast path, as `ringzero run` runs it;
/// 2. reference: every instruction decoded afresh with the generic handlers (`--reference`);
/// 3. hooked: a before-instruction hook checks the state invariants before every instruction
///    and once more at the end (the generic loop, since a hook is registered).
///
/// The three reports must be identical. Cases are independent: case `i` of seed `s` is always
/// the same, whichever worker runs it.
public struct FuzzEngine: Sendable {
    public let profile: CPUProfile
    public let length: Int
    public let mode: OperatingMode?
    /// Bound on each run (retired instructions plus exceptions taken).
    public var maxInstructions: UInt64 = 256

    public init(profile: CPUProfile, length: Int = 16, mode: OperatingMode? = nil) {
        self.profile = profile
        self.length = length
        self.mode = mode
    }

    /// Every fourth case checks one integer instruction against the host processor, when it can.
    public var hostOracle = HostCheck.available

    /// Case `index` of `seed`.
    public func fuzzCase(seed: UInt64, index: UInt64) -> FuzzCase {
        var generator = CaseGenerator(seed: seed &+ index &* 0x9E37_79B9_7F4A_7C15, profile: profile, length: length, mode: mode)
        // Host cases are 64-bit code: only when the starting mode is free or long.
        let host = hostOracle && index % 4 == 3 && (mode == nil || mode == .long)
        return host ? generator.nextHostCase() : generator.nextCase()
    }

    /// Raw case `index` of `seed`: random bytes or a mutated blob of `corpus`.
    public func rawCase(seed: UInt64, index: UInt64, corpus: [[UInt8]]) -> FuzzCase {
        var generator = CaseGenerator(seed: seed &+ index &* 0x9E37_79B9_7F4A_7C15 ^ 0xA5A5, profile: profile, length: length, mode: mode)
        return generator.nextRawCase(corpus: corpus)
    }

    /// What one evaluation gives: a violation, or the outcome class (for counting distinct
    /// outcomes).
    public enum Result: Sendable {
        case passed(outcome: String)
        case violated(Violation)
        /// The generator made a state a state file may not hold (a bug of the generator).
        case rejected(String)
    }

    /// Run one case the three ways, on fresh machines.
    public func evaluate(_ c: FuzzCase) -> Result {
        do {
            return try FuzzWorker(engine: self).evaluate(c)
        } catch {
            return .rejected("\(error)")
        }
    }

    /// A worker that keeps its three machines and resets them by snapshot between cases.
    public func makeWorker() throws -> FuzzWorker { try FuzzWorker(engine: self) }

    /// Drop chunks while the same invariant still fails: the smallest sequence that shows it.
    public func minimize(_ violation: Violation) -> Violation {
        var best = violation
        var i = 0
        guard let worker = try? makeWorker() else { return violation }
        while i < best.fuzzCase.chunks.count && best.fuzzCase.chunks.count > 1 {
            var candidate = best.fuzzCase
            candidate.chunks.remove(at: i)
            if case .violated(let v) = worker.evaluate(candidate), v.invariant == violation.invariant {
                best = v
            } else {
                i += 1
            }
        }
        return best
    }

    /// Stop reason, fault vectors and VMX/SMX state: what makes two runs "different outcomes".
    static func outcomeClass(_ o: RunOutcome, _ m: Machine) -> String {
        let vectors = o.faults.map { String($0.vector.rawValue) }.joined(separator: ",")
        return "\(o.reason.rawValue)|\(o.fault.map { String($0.vector.rawValue) } ?? "-")|\(vectors)|\(m.state.vmx.operation.rawValue)|\(m.state.smx.operation)|\(m.state.mode.rawValue)"
    }

    /// The first report fields that differ, for the violation's detail.
    static func difference(_ a: JSONValue, _ b: JSONValue) -> String {
        let x = Dictionary(a.leaves().map { ($0.path, $0.value) }, uniquingKeysWith: { p, _ in p })
        let y = Dictionary(b.leaves().map { ($0.path, $0.value) }, uniquingKeysWith: { p, _ in p })
        let keys = Set(x.keys).union(y.keys).sorted()
        let diffs = keys.filter { x[$0] != y[$0] }.prefix(4).map { "\($0): \(x[$0] ?? "-") vs \(y[$0] ?? "-")" }
        return diffs.joined(separator: "; ")
    }
}

/// Three machines (plain, reference, hooked) of one profile, each reset to its pristine
/// snapshot before a case: creating machines per case would cost far more than running them.
/// One worker per thread.
public final class FuzzWorker {
    let engine: FuzzEngine
    let plain: Machine, reference: Machine, hooked: Machine
    let pristine: (Snapshot, Snapshot, Snapshot)

    init(engine: FuzzEngine) throws {
        self.engine = engine
        plain = try Machine(profile: engine.profile)
        reference = try Machine(profile: engine.profile)
        hooked = try Machine(profile: engine.profile)
        pristine = (plain.snapshot(), reference.snapshot(), hooked.snapshot())
    }

    /// Run one case the three ways.
    public func evaluate(_ c: FuzzCase) -> FuzzEngine.Result {
        let setup = MachineSetup(profile: engine.profile, state: c.state)
        do {
            try plain.restore(pristine.0)
            try reference.restore(pristine.1)
            try hooked.restore(pristine.2)
            hooked.removeAllHooks()
            try setup.configure(plain, blob: c.blob)
            try setup.configure(reference, blob: c.blob)
            try setup.configure(hooked, blob: c.blob)
        } catch {
            return .rejected("\(error)")
        }
        let options = RunOptions(maxInstructions: engine.maxInstructions, onFault: .continue)
        let plainOutcome = plain.run(options)
        let plainReport = Report(machine: plain, outcome: plainOutcome).json

        var referenceOptions = options
        referenceOptions.referencePath = true
        let referenceReport = Report(machine: reference, outcome: reference.run(referenceOptions)).json
        if referenceReport != plainReport {
            return .violated(Violation(invariant: .fastMatchesReference, detail: FuzzEngine.difference(plainReport, referenceReport), fuzzCase: c))
        }

        var checker = InvariantChecker(machine: hooked)
        var found: (Invariant, String)?
        hooked.onInstruction { m, op in
            if let v = checker.check(m, next: op) {
                found = v
                return .stop
            }
            return .proceed
        }
        let hookedOutcome = hooked.run(options)
        if found == nil, let v = checker.check(hooked, next: nil) { found = v }
        if let (invariant, detail) = found {
            return .violated(Violation(invariant: invariant, detail: detail, fuzzCase: c))
        }
        let hookedReport = Report(machine: hooked, outcome: hookedOutcome).json
        if hookedReport != plainReport {
            return .violated(Violation(invariant: .hookedMatchesFast, detail: FuzzEngine.difference(plainReport, hookedReport), fuzzCase: c))
        }
        if let check = c.hostCheck, let detail = Self.disagreement(check, plain) {
            return .violated(Violation(invariant: .hostAgrees, detail: detail, fuzzCase: c))
        }
        return .passed(outcome: FuzzEngine.outcomeClass(plainOutcome, plain))
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
