import ArgumentParser
import Foundation
import RingZero

struct FuzzCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuzz",
        abstract: "Generate and run instruction sequences, check invariants, save reproducers.",
        discussion: """
        Each case is a starting state and a sequence of the mission's instructions with the \
        integer instructions around them, operands chosen to hit the SDM's rules. Every case runs \
        on the fast path and on the reference path with a hook that checks the invariants of \
        docs/fuzzing.md before every instruction; the two results must agree. Every \
        --full-check-every-th case also replays as `ringzero run` would (state file, Capstone) \
        three ways, and all reports must agree. A violation is \
        minimized and saved to --out as BLOB.bin, BLOB.state.json and BLOB.violation.json, \
        replayable with `ringzero run BLOB.bin --state BLOB.state.json --profile P`. \
        Exit status 1 when a violation was found.
        """
    )

    @Option(help: "Seed; the same seed, profile, length and mode give the same cases.")
    var seed: UInt64 = 1

    @Option(help: "Number of cases to run (default 10000 unless --duration is given).")
    var iterations: UInt64?

    @Option(help: "Run for this long instead: seconds, or with s, m or h (30s, 5m).")
    var duration: Duration?

    @Option(help: "CPU profile: a built-in name or a profile JSON file.")
    var profile: String = "i7-5600u"

    @Option(help: "Instructions per sequence, counting the MOVs that load operands.")
    var length: Int = 16

    @Option(help: "Starting mode of every case (real, protected, v8086, compat, long); mixed when omitted.")
    var mode: OperatingMode?

    @Option(help: "Folder for reproducers.")
    var out: String = "fuzz-out"

    @Flag(help: "Raw mode: random bytes and mutated blobs of --corpus instead of structured sequences.")
    var raw = false

    @Option(help: "With --raw: a folder whose *.bin files (searched recursively) are mutated, e.g. Fixtures.")
    var corpus: String?

    @Option(help: "Run the full check (state file, Capstone decoding, three runs) on every Nth structured case; 1 checks every case. Raw cases always get it.")
    var fullCheckEvery: UInt64 = 1024

    @Option(help: "Parallel workers (default: the machine's cores).")
    var jobs: Int = min(ProcessInfo.processInfo.activeProcessorCount, 256)

    /// Every *.bin under a folder (at most 4 KiB each).
    static func corpusBlobs(_ folder: String) throws -> [[UInt8]] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw fail("cannot read corpus folder \(folder): no such folder", status: ExitStatus.noInput)
        }
        guard let walker = FileManager.default.enumerator(atPath: folder) else {
            throw fail("cannot read corpus folder \(folder)", status: ExitStatus.noInput)
        }
        var blobs: [[UInt8]] = []
        for case let path as String in walker where path.hasSuffix(".bin") {
            if let data = FileManager.default.contents(atPath: (folder as NSString).appendingPathComponent(path)), data.count <= 4096, !data.isEmpty {
                blobs.append([UInt8](data))
            }
        }
        return blobs.sorted { $0.lexicographicallyPrecedes($1) }
    }

    func validate() throws {
        if corpus != nil && !raw { throw ValidationError("--corpus goes with --raw") }
        guard length >= 1 && length <= 256 else { throw ValidationError("--length must be 1 to 256") }
        guard jobs >= 1 && jobs <= 256 else { throw ValidationError("--jobs must be 1 to 256") }
        guard fullCheckEvery >= 1 else { throw ValidationError("--full-check-every must be at least 1") }
        if iterations != nil && duration != nil { throw ValidationError("give --iterations or --duration, not both") }
    }

    func run() throws {
        var configured = FuzzEngine(profile: try loadProfile(profile), length: length, mode: mode)
        configured.fullCheckInterval = fullCheckEvery
        let engine = configured
        let blobs = try corpus.map(Self.corpusBlobs) ?? []
        let limit = duration == nil ? (iterations ?? 10_000) : UInt64.max
        let deadline = duration.map { Date().addingTimeInterval($0.seconds) }
        let campaign = Campaign()
        let start = Date()
        // Plain copies for the workers: reading an option's property wrapper costs more than a case.
        let seed = self.seed, raw = self.raw, jobs = self.jobs

        let group = DispatchGroup()
        for worker in 0..<jobs {
            group.enter()
            DispatchQueue.global().async {
                defer { group.leave() }
                guard let fuzzer = try? engine.makeWorker() else {
                    var failed = Campaign.Batch()
                    failed.record(rejected: "cannot create the worker's machines")
                    campaign.merge(&failed)
                    return
                }
                // Counts go to the campaign in batches: a lock per case would cost more than
                // a case. The batch sits behind a pointer: captured as a `var` by `record`,
                // every case paid a dynamic exclusivity check on it.
                let batch = UnsafeMutablePointer<Campaign.Batch>.allocate(capacity: 1)
                batch.initialize(to: Campaign.Batch())
                defer {
                    batch.deinitialize(count: 1)
                    batch.deallocate()
                }
                var index = UInt64(worker)
                let stride = UInt64(jobs)
                func record(_ index: UInt64, _ result: FuzzEngine.Result) {
                    switch result {
                    case .passed(let outcome): batch.pointee.record(outcome: outcome)
                    case .rejected(let why): batch.pointee.record(rejected: why)
                    case .violated(let v):
                        campaign.merge(&batch.pointee)
                        campaign.record(violation: engine.minimize(v), index: index)
                    }
                }
                while index < limit {
                    if batch.pointee.executions & 255 < UInt64(FuzzWorker.batchSize) {
                        campaign.merge(&batch.pointee)
                        if campaign.stopped { break }
                        if let deadline, Date() >= deadline { break }
                    }
                    if raw {
                        record(index, fuzzer.evaluate(engine.rawCase(seed: seed, index: index, corpus: blobs)))
                        index += stride
                    } else {
                        // Structured cases a batch at a time (`FuzzWorker`), the last one cut
                        // to the limit.
                        let left = (limit - index - 1) / stride + 1
                        let count = Int(min(UInt64(FuzzWorker.batchSize), left))
                        fuzzer.evaluate(seed: seed, from: index, by: stride, count: count,
                                        passed: { _, outcome in batch.pointee.record(outcome: outcome) }, other: record)
                        index += UInt64(count) * stride
                    }
                }
                campaign.merge(&batch.pointee)
            }
        }

        // Progress: one line redrawn in place on a terminal, a plain line every 5 s otherwise.
        let terminal = isatty(STDERR_FILENO) != 0
        var lastPlain = Date()
        while group.wait(timeout: .now() + .milliseconds(500)) == .timedOut {
            let line = campaign.progress(since: start)
            if terminal {
                emitError("\r" + line + "   ")
            } else if Date().timeIntervalSince(lastPlain) >= 5 {
                emitError(line + "\n")
                lastPlain = Date()
            }
        }
        if terminal { emitError("\n") }

        let found = campaign.violations
        var lines = [campaign.progress(since: start)]
        if let why = campaign.firstRejection { lines.append("REJECTED: the generator made a state a state file may not hold (a bug of the generator): \(why)") }
        if !found.isEmpty {
            do {
                try writeReproducers(found, engine: engine, lines: &lines)
            } catch {
                throw fail("cannot write the reproducers to \(out): \(error.localizedDescription)", status: ExitStatus.software)
            }
        }
        emit(lines.joined(separator: "\n"))
        if !found.isEmpty || campaign.firstRejection != nil { throw ExitCode(1) }
    }

    /// What to look at when replaying a violation of `invariant`.
    static func replayNote(_ invariant: Invariant) -> String {
        switch invariant {
        case .fastMatchesReference: "run it again with --reference and compare the two reports"
        case .hookedMatchesFast: "the difference appears only with a hook registered (the generic loop); see detail"
        case .hostAgrees: "compare RAX and the defined flags in the report with the host values in detail"
        case .fastPathMatchesReplay: "the replay passes: the fault is in the fuzzer's fast path (DirectDecoder or its direct state setup); compare DirectDecoder with Capstone on the blob's instructions"
        default: "read the final report (or --trace) against the invariant's rule in docs/fuzzing.md"
        }
    }

    /// BLOB.bin, BLOB.state.json and BLOB.violation.json for each violation.
    func writeReproducers(_ found: [(UInt64, Violation)], engine: FuzzEngine, lines: inout [String]) throws {
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        for (index, v) in found {
            let name = "violation-\(seed)-\(index)"
            let base = (out as NSString).appendingPathComponent(name)
            try Data(v.fuzzCase.blob).write(to: URL(fileURLWithPath: base + ".bin"))
            try Data((v.fuzzCase.state.formatted() + "\n").utf8).write(to: URL(fileURLWithPath: base + ".state.json"))
            let report = JSONValue.object([
                ("invariant", .string(v.invariant.rawValue)), ("detail", .string(v.detail)),
                ("seed", .int(seed)), ("index", .int(index)), ("profile", .string(engine.profile.name)),
                ("mode", .string(v.fuzzCase.mode.rawValue)), ("instructions", .int(v.fuzzCase.chunks.count)),
                ("note", .string(Self.replayNote(v.invariant))),
                ("replay", .string("ringzero run \(base).bin --state \(base).state.json --profile \(profile) --on-fault continue --max-instructions \(engine.maxInstructions) --format json")),
            ])
            try Data((report.formatted() + "\n").utf8).write(to: URL(fileURLWithPath: base + ".violation.json"))
            lines.append("VIOLATION \(v.invariant.rawValue): \(v.detail)")
            lines.append("  reproducer: \(base).bin, \(base).state.json (\(v.fuzzCase.chunks.count) instructions)")
        }
    }
}

/// The campaign's shared counters, which every worker adds its batches to.
final class Campaign: @unchecked Sendable {
    private let lock = NSLock()
    private var executions: UInt64 = 0
    private var outcomes = Set<Int>()
    private var rejected: UInt64 = 0
    private(set) var firstRejection: String?
    private var found: [(UInt64, Violation)] = []
    /// Workers stop once this many violations are in hand.
    static let violationLimit = 10

    /// One worker's counts since it last merged.
    struct Batch {
        var executions: UInt64 = 0
        /// The outcomes this worker had not seen before, since it last merged.
        var outcomes: [Int] = []
        var rejected: UInt64 = 0
        var firstRejection: String?

        /// Every outcome this worker has seen: only the new ones go to the campaign's set,
        /// where each merge re-inserted every outcome of its batch.
        private var seen = Set<Int>()
        /// Outcomes seen lately, direct-mapped by the outcome's low bits: most cases repeat a
        /// recent outcome, and this spares the set's hashing for them.
        private var recent = [Int](repeating: 0, count: 1024)

        mutating func record(outcome: Int) {
            executions += 1
            let slot = outcome & 1023
            if recent[slot] == outcome && outcome != 0 { return }
            recent[slot] = outcome
            if seen.insert(outcome).inserted { outcomes.append(outcome) }
        }

        mutating func record(rejected why: String) {
            executions += 1
            rejected += 1
            if firstRejection == nil { firstRejection = why }
        }
    }

    var stopped: Bool { lock.withLock { found.count >= Self.violationLimit } }
    var violations: [(UInt64, Violation)] { lock.withLock { found.sorted { $0.0 < $1.0 } } }

    /// Add a batch and empty it.
    func merge(_ batch: inout Batch) {
        guard batch.executions > 0 else { return }
        lock.withLock {
            executions += batch.executions
            outcomes.formUnion(batch.outcomes)
            rejected += batch.rejected
            if firstRejection == nil { firstRejection = batch.firstRejection }
        }
        batch.executions = 0
        batch.outcomes.removeAll(keepingCapacity: true)
        batch.rejected = 0
        batch.firstRejection = nil
    }

    func record(violation: Violation, index: UInt64) {
        lock.withLock {
            executions += 1
            found.append((index, violation))
        }
    }

    func progress(since start: Date) -> String {
        lock.withLock {
            let elapsed = max(Date().timeIntervalSince(start), 0.001)
            return "executions \(executions), \(Int(Double(executions) / elapsed))/s, distinct outcomes \(outcomes.count), violations \(found.count)"
                + (rejected > 0 ? ", rejected states \(rejected)" : "")
        }
    }
}

/// A duration option: seconds, or with s, m or h.
struct Duration: ExpressibleByArgument {
    var seconds: Double

    init?(argument: String) {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600]
        var text = argument
        var scale = 1.0
        if let last = text.last, let unit = units[last] {
            scale = unit
            text.removeLast()
        }
        guard let value = Double(text), value > 0, value.isFinite else { return nil }
        seconds = value * scale
    }
}
