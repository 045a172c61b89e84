import ArgumentParser
import Foundation
import RingZero

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run the built-in throughput workloads and print guest instructions/s and ns per instruction.",
        discussion: """
        Workloads: w1-alu, w2-cr, w3-msr, w4-vmx (loops in 64-bit mode at CPL 0), w5-cold \
        (a fresh 16-instruction sequence per execution, reset by snapshot), w6-decode \
        (Capstone plus lowering per instruction), restore-1-page and restore-64-pages \
        (snapshot restore of a 16 MiB guest). Each runs several times and the median is \
        reported. Build with -c release for meaningful numbers.
        """
    )

    @Option(help: "Run only this workload (repeatable): \(Workload.allCases.map(\.rawValue).joined(separator: ", ")).")
    var workload: [Workload] = []

    @Option(help: "Repetitions per workload; the median is reported.")
    var repetitions: Int = 5

    @Option(help: "Multiply the work per repetition (e.g. 0.1 for a quick run).")
    var scale: Double = 1.0

    @Flag(help: "Register a do-nothing hook of every kind except the before-instruction and memory hooks.")
    var hooks = false

    @Option(help: "CPU profile: a built-in name or a profile JSON file.")
    var profile: String = "i7-5600u"

    @Option(help: "Output form: text or json.")
    var format: OutputFormat = .text

    @Option(help: "CI gate: check the deterministic counters and the speed-up over decoding against this file (Benchmarks/gate.json); exit 1 on a failure.")
    var gate: String?

    @Option(name: .customLong("write-gate"), help: "Record this build's counters into the gate file (keeps its factors and scale).")
    var writeGate: String?

    func validate() throws {
        if gate != nil && writeGate != nil { throw ValidationError("give --gate or --write-gate, not both") }
        guard repetitions >= 1 && repetitions <= 1000 else { throw ValidationError("--repetitions must be 1 to 1000") }
        guard scale > 0 && scale <= 1000 else { throw ValidationError("--scale must be above 0 and at most 1000") }
    }

    func run() throws {
        if let path = gate ?? writeGate {
            let g = try BenchGate.read(path)
            let options = BenchmarkOptions(repetitions: repetitions, scale: g.scale, hooks: false, profile: try loadProfile(g.profile))
            let result: (lines: [String], passed: Bool)
            do {
                result = try g.check(options, write: writeGate)
            } catch let error as ExitCode {
                throw error
            } catch {
                throw fail("internal error: \(error)", status: ExitStatus.software)
            }
            emit((["host: \(WorkloadRunner.host)"] + result.lines).joined(separator: "\n"))
            if !result.passed { throw ExitCode(1) }
            return
        }
        let options = BenchmarkOptions(repetitions: repetitions, scale: scale, hooks: hooks, profile: try loadProfile(profile))
        var results: [BenchmarkResult] = []
        for w in workload.isEmpty ? Workload.standard : workload {
            // VMXON is #UD on a processor without VMX: W4 has nothing to measure there.
            if w == .vmx && !options.profile.hasVMX {
                emitError("ringzero: skipping \(w.rawValue): profile \(options.profile.name) has no VMX\n")
                continue
            }
            do {
                results.append(try WorkloadRunner.run(w, options: options))
            } catch {
                throw fail("internal error: \(error)", status: ExitStatus.software)
            }
        }
        emit(format == .json ? json(results) : text(results))
    }

    func number(_ v: Double?) -> JSONValue {
        guard let v, v.isFinite else { return .null }
        let rounded = (v * 1000).rounded() / 1000
        return .number(rounded == rounded.rounded() && abs(rounded) < 1e15 ? String(Int64(rounded)) : String(rounded))
    }

    func json(_ results: [BenchmarkResult]) -> String {
        JSONValue.object([
            ("host", .string(WorkloadRunner.host)),
            ("workloads", .array(results.map { r in
                .object([
                    ("name", .string(r.workload.rawValue)),
                    ("nsPerInstruction", number(r.nsPerInstruction)),
                    ("instructionsPerSecond", number(r.instructionsPerSecond)),
                    ("executionsPerSecond", number(r.executionsPerSecond)),
                    ("nsPerExecution", number(r.nsPerExecution)),
                    ("guestInstructions", .int(r.guestInstructions)),
                    ("modelledCycles", .int(r.modelledCycles)),
                ])
            })),
        ]).formatted()
    }

    /// A rate as a whole number, or "-" when there is none (or the clock was too coarse).
    func rate(_ v: Double?) -> String {
        guard let v, v.isFinite, v < 9e18 else { return "-" }
        return String(Int64(v))
    }

    func text(_ results: [BenchmarkResult]) -> String {
        func fmt(_ v: Double?, _ digits: Int) -> String {
            guard let v, v.isFinite else { return "-" }
            var s = String((v * pow10(digits)).rounded() / pow10(digits))
            if s.hasSuffix(".0") { s.removeLast(2) }
            return s
        }
        func pow10(_ n: Int) -> Double { (0..<n).reduce(1.0) { a, _ in a * 10 } }
        var lines = ["host: \(WorkloadRunner.host)",
                     "workload".padding(18) + "ns/instr".padding(10) + "instr/s".padding(14) + "exec/s".padding(12) + "ns/exec"]
        for r in results {
            lines.append(r.workload.rawValue.padding(18) + fmt(r.nsPerInstruction, 2).padding(10)
                         + rate(r.instructionsPerSecond).padding(14)
                         + rate(r.executionsPerSecond).padding(12) + fmt(r.nsPerExecution, 0))
        }
        return lines.joined(separator: "\n")
    }
}

extension Workload: ExpressibleByArgument {}
