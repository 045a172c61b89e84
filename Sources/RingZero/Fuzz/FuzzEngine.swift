/// Runs fuzz cases and judges them against every ``Invariant``.
///
/// Every case runs twice on the fast path (`FuzzWorker`): plain, as `ringzero run` runs it
/// (cached Ops, fast forms, block chaining), and on the reference path (one instruction at a
/// time, generic handlers, nothing cached) with a before-instruction hook that checks the state
/// invariants before every instruction and once more at the end. The two results must be
/// identical: registers, MSRs, counters by form, faults and guest memory. Both take the
/// generator's instructions as Ops built without decoding (`OpPrototypes`; every
/// `referenceDecodeInterval`-th case the reference run decodes afresh with `DirectDecoder`)
/// and start from the generator's state without parsing JSON.
///
/// Every `fullCheckInterval`-th case (and every case handed in as a `FuzzCase`) also runs the
/// full check: the case as `ringzero run` replays it, from its state file, decoded by Capstone
/// alone, three ways (plain, `--reference`, and plain with the invariant hook), whose three
/// JSON reports must agree with each other and with the fast path's.
///
/// Cases are independent: case `i` of seed `s` is always the same, whichever worker runs it.
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
        var generator = CaseGenerator(seed: 0, profile: profile, length: length, mode: mode)
        var buffer = CaseBuffer()
        generate(seed: seed, index: index, with: &generator, into: &buffer)
        return buffer.fuzzCase
    }

    /// Write case `index` of `seed` over `buffer`, reseeding `generator` (which keeps its
    /// pools): each case has a stream of its own, so any worker can run any case.
    func generate(seed: UInt64, index: UInt64, with generator: inout CaseGenerator, into buffer: inout CaseBuffer) {
        generator.reseed(seed &+ index &* 0x9E37_79B9_7F4A_7C15)
        if isHostCase(index) { generator.nextHostCase(into: &buffer) } else { generator.nextCase(into: &buffer) }
    }

    /// Host cases are 64-bit code: only when the starting mode is free or long.
    func isHostCase(_ index: UInt64) -> Bool { hostOracle && index % 4 == 3 && (mode == nil || mode == .long) }

    /// The fast path's runs take the generator's Ops, built without decoding (`OpPrototypes`),
    /// except on every `referenceDecodeInterval`-th case, whose reference run decodes every
    /// instruction afresh (`DirectDecoder`), so that the decoder's Ops are compared with the
    /// generator's all the time; 1 decodes on every case.
    public var referenceDecodeInterval: UInt64 = 16

    /// Every `fullCheckInterval`-th case also runs the full check (`FuzzWorker`); 1 runs it on
    /// every case.
    public var fullCheckInterval: UInt64 = 1024

    /// Raw case `index` of `seed`: random bytes or a mutated blob of `corpus`.
    public func rawCase(seed: UInt64, index: UInt64, corpus: [[UInt8]]) -> FuzzCase {
        var generator = CaseGenerator(seed: seed &+ index &* 0x9E37_79B9_7F4A_7C15 ^ 0xA5A5, profile: profile, length: length, mode: mode)
        return generator.nextRawCase(corpus: corpus)
    }

    /// What one evaluation gives: a violation, or the outcome class (for counting distinct
    /// outcomes).
    public enum Result: Sendable {
        /// `outcome` hashes the outcome class (`outcomeClass`).
        case passed(outcome: Int)
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

    /// Stop reason, fault vectors and VMX/SMX state and mode, hashed: what makes two runs
    /// "different outcomes". A multiply-xorshift mix rather than `Hasher` (SipHash, and a
    /// second hashing when the set of outcomes stores it), on every case.
    /// The class of `m`'s last run, which ended for `reason`: how it ended, the exceptions it
    /// took, VMX and SMX operation and the mode.
    static func outcomeClass(_ reason: StopReason, _ m: Machine) -> Int {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15
        @inline(__always) func mix(_ v: UInt64) {
            h = (h ^ v) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 31
        }
        let reasonCode: UInt64 = switch reason {
        case .hlt: 0
        case .end: 1
        case .fault: 2
        case .instructionLimit: 3
        case .cycleLimit: 4
        case .unsupported: 5
        case .hook: 6
        }
        mix(reasonCode)
        m.mixFaults { mix($0) }
        mix(m.state.vmx.operation == .none ? 0 : 1)
        mix(m.state.smx.operation ? 1 : 0)
        mix(UInt64(m.state.mode.index))
        return Int(bitPattern: UInt(h))
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

