import ArgumentParser
import Foundation
import RingZero

/// The CI gate of `ringzero bench --gate FILE`: checks that do not flake on a noisy machine.
///
/// - The deterministic counters of every workload (guest instructions and modelled cycles of
///   one repetition at the file's scale) must equal the committed ones: a change in them is a
///   change in semantics or in the cycle model, and must be deliberate.
/// - The cached path must stay at least the given factor faster per instruction than Capstone
///   decoding plus lowering (W6), both measured in this process: a ratio, not an absolute time.
///
/// `--write-gate FILE` records the counters of the current build (keeping the file's factors).
struct BenchGate {
    var scale: Double
    var profile: String
    var minimumSpeedupOverDecode: [(String, Double)]
    var counters: [(String, (instructions: UInt64, cycles: UInt64))]

    static func read(_ path: String) throws -> BenchGate {
        let json = try readJSON(path, what: "gate file")
        func bad(_ what: String) -> Error { fail("\(path): \(what)", status: ExitStatus.dataError) }
        guard case .number(let s)? = json["scale"], let scale = Double(s), scale > 0, scale <= 1000,
              case .string(let profile)? = json["profile"],
              case .object(let speedups)? = json["minimumSpeedupOverDecode"],
              case .object(let counts)? = json["counters"]
        else { throw bad("needs scale (above 0, at most 1000), profile, minimumSpeedupOverDecode and counters") }
        var gate = BenchGate(scale: scale, profile: profile, minimumSpeedupOverDecode: [], counters: [])
        for (name, v) in speedups {
            guard Workload(rawValue: name) != nil, case .number(let n) = v, let factor = Double(n) else { throw bad("minimumSpeedupOverDecode.\(name)") }
            gate.minimumSpeedupOverDecode.append((name, factor))
        }
        for (name, v) in counts {
            guard Workload(rawValue: name) != nil, case .number(let i)? = v["guestInstructions"], case .number(let c)? = v["modelledCycles"],
                  let instructions = UInt64(i), let cycles = UInt64(c) else { throw bad("counters.\(name)") }
            gate.counters.append((name, (instructions, cycles)))
        }
        return gate
    }

    var json: JSONValue {
        .object([
            ("scale", .number(String(scale))),
            ("profile", .string(profile)),
            ("minimumSpeedupOverDecode", .object(minimumSpeedupOverDecode.map { ($0.0, .number(String($0.1))) })),
            ("counters", .object(counters.map { ($0.0, .object([("guestInstructions", .int($0.1.instructions)), ("modelledCycles", .int($0.1.cycles))])) })),
        ])
    }

    /// Run what the gate needs; returns the report lines and whether every check passed.
    func check(_ options: BenchmarkOptions, write path: String?) throws -> (lines: [String], passed: Bool) {
        var lines: [String] = []
        var passed = true
        var results: [String: BenchmarkResult] = [:]
        let names = Set(counters.map(\.0) + minimumSpeedupOverDecode.map(\.0) + ["w6-decode"])
        for w in Workload.allCases where names.contains(w.rawValue) && (w != .vmx || options.profile.hasVMX) {
            results[w.rawValue] = try WorkloadRunner.run(w, options: options)
        }
        var recorded: [(String, (instructions: UInt64, cycles: UInt64))] = []
        for (name, want) in counters {
            guard let r = results[name] else { continue }
            recorded.append((name, (r.guestInstructions, r.modelledCycles)))
            if path == nil {
                let ok = r.guestInstructions == want.instructions && r.modelledCycles == want.cycles
                passed = passed && ok
                lines.append("\(ok ? "ok  " : "FAIL") \(name) counters: \(r.guestInstructions) instructions, \(r.modelledCycles) cycles"
                             + (ok ? "" : " (committed: \(want.instructions), \(want.cycles))"))
            }
        }
        if let decode = results["w6-decode"]?.nsPerInstruction {
            for (name, factor) in minimumSpeedupOverDecode {
                guard let ns = results[name]?.nsPerInstruction else { continue }
                let speedup = decode / ns
                let ok = speedup >= factor
                passed = passed && ok
                lines.append("\(ok ? "ok  " : "FAIL") \(name) is \(String(format: "%.1f", speedup))x faster per instruction than decoding (needs \(factor)x)")
            }
        }
        if let path {
            var updated = self
            updated.counters = recorded
            try Data((updated.json.formatted() + "\n").utf8).write(to: URL(fileURLWithPath: path))
            lines.append("wrote the counters to \(path)")
        }
        return (lines, passed)
    }
}
