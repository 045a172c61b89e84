// RingZero's package-benchmark suite: the workloads of `ringzero bench` (the library's `Workload`),
// measured with package-benchmark's statistics, malloc counts and the interpreter's own counters.
// How to run it, and what each benchmark and metric means: ../../README.md, "package-benchmark suite".

import Benchmark
import Foundation
import RingZero

// MARK: Metrics

/// The interpreter's own counters and its throughput, reported as custom metrics. They are
/// per benchmark iteration and never scaled (`useScalingFactor: false`).
enum RingZeroMetric {
    /// Guest instructions retired in one benchmark iteration.
    static let guestInstructions = BenchmarkMetric.custom("guest instructions", polarity: .prefersSmaller, useScalingFactor: false)
    /// Core cycles the cycle model charged for them.
    static let modelledCycles = BenchmarkMetric.custom("modelled cycles", polarity: .prefersSmaller, useScalingFactor: false)
    /// Guest instructions per second of host time (loops and W6).
    static let guestInstructionsPerSecond = BenchmarkMetric.custom("guest instructions/s", polarity: .prefersLarger, useScalingFactor: false)
    /// Host picoseconds per guest instruction (loops and W6): the unit of issue 7's targets, times 1000.
    static let picosecondsPerInstruction = BenchmarkMetric.custom("ps per guest instruction", polarity: .prefersSmaller, useScalingFactor: false)
    /// Executions (W5 sequences, snapshot restores) per second of host time.
    static let executionsPerSecond = BenchmarkMetric.custom("executions/s", polarity: .prefersLarger, useScalingFactor: false)
}

/// package-benchmark's own metrics reported by every benchmark here. `mallocCountTotal` and
/// `mallocBytesCount` come from the MallocInterposer trait.
///
/// No CPU-time metric (`.cpuTotal`, `.cpuUser`, `.cpuSystem`): on Linux package-benchmark samples
/// them by reading /proc inside the measured region, which itself adds 16 mallocs (35 KB) to
/// every iteration's malloc count (seen with package-benchmark 1.38.1 and an empty benchmark
/// body), and their 10 ms granularity is too coarse for iterations of a few milliseconds.
let standardMetrics: [BenchmarkMetric] = [.wallClock, .throughput, .mallocCountTotal, .mallocBytesCount]

/// Work per benchmark iteration, as `BenchmarkOptions.scale` (1 = 0.1-0.3 s per workload
/// repetition). Override with the environment variable RINGZERO_BENCH_SCALE.
let scale: Double = ProcessInfo.processInfo.environment["RINGZERO_BENCH_SCALE"].flatMap(Double.init) ?? 0.05

/// Host time limits per benchmark (package-benchmark stops at whichever comes first).
/// RINGZERO_BENCH_SECONDS overrides the default of 2 s per benchmark.
let maxDuration: Duration = .milliseconds(Int((ProcessInfo.processInfo.environment["RINGZERO_BENCH_SECONDS"].flatMap(Double.init) ?? 2) * 1000))

// MARK: Benchmarks

let benchmarks: @Sendable () -> Void = {
    // Thresholds for `swift package benchmark baseline check` / `baseline compare`: the host is
    // noisy (shared 2-core machine), so time-based metrics only fail beyond 25 % at p50; malloc
    // counts and the interpreter's counters are deterministic and must not grow at all.
    let allThresholds: [BenchmarkMetric: BenchmarkThresholds] = [
        .wallClock: .init(relative: [.p50: 25]),
        .throughput: .init(relative: [.p50: 25]),
        .mallocCountTotal: .init(absolute: [.p50: 0, .p90: 0]),
        RingZeroMetric.guestInstructions: .init(absolute: [.p50: 0]),
        RingZeroMetric.modelledCycles: .init(absolute: [.p50: 0]),
        RingZeroMetric.guestInstructionsPerSecond: .init(relative: [.p50: 25]),
        RingZeroMetric.picosecondsPerInstruction: .init(relative: [.p50: 25]),
        RingZeroMetric.executionsPerSecond: .init(relative: [.p50: 25]),
    ]
    // Only the metrics a benchmark reports (package-benchmark warns about the others).
    func thresholds(_ metrics: [BenchmarkMetric]) -> [BenchmarkMetric: BenchmarkThresholds] {
        allThresholds.filter { metrics.contains($0.key) }
    }

    // Benchmark names hold no "/" or space: `thresholds update` writes Thresholds/<target>.<name>.p90.json
    // with those replaced by "_", but `thresholds check` (1.38.1) looks for the name unchanged.

    // 1. "Workload.<name>": every standard workload through the library's own runner, exactly as
    //    `ringzero bench --scale S --repetitions 1` runs it. One benchmark iteration is one call of
    //    `WorkloadRunner.run`: machine construction, snapshot, warm-up and one timed repetition,
    //    so its malloc count includes that setup. The runner's own timing (its timed repetition
    //    only) gives the throughput metrics.
    for workload in Workload.standard {
        let perInstruction = workload.instructionsPerIteration != nil || workload == .decode
        let throughputMetrics = perInstruction
            ? [RingZeroMetric.guestInstructionsPerSecond, RingZeroMetric.picosecondsPerInstruction]
            : [RingZeroMetric.executionsPerSecond]
        let metrics = standardMetrics + [RingZeroMetric.guestInstructions, RingZeroMetric.modelledCycles] + throughputMetrics
        Benchmark(
            "Workload.\(workload.rawValue)",
            configuration: .init(
                metrics: metrics,
                warmupIterations: 1,
                maxDuration: maxDuration,
                maxIterations: 1_000,
                thresholds: thresholds(metrics)
            )
        ) { benchmark in
            // RingZero.BenchmarkResult: package-benchmark has a BenchmarkResult of its own.
            let result: RingZero.BenchmarkResult
            do {
                result = try WorkloadRunner.run(workload, options: BenchmarkOptions(repetitions: 1, scale: scale))
            } catch {
                benchmark.error("\(workload.rawValue): \(error)")
                return
            }
            benchmark.measurement(RingZeroMetric.guestInstructions, Int(result.guestInstructions))
            benchmark.measurement(RingZeroMetric.modelledCycles, Int(result.modelledCycles))
            if let ips = result.instructionsPerSecond, let ns = result.nsPerInstruction {
                benchmark.measurement(RingZeroMetric.guestInstructionsPerSecond, Int(ips.rounded()))
                benchmark.measurement(RingZeroMetric.picosecondsPerInstruction, Int((ns * 1000).rounded()))
            }
            if let eps = result.executionsPerSecond {
                benchmark.measurement(RingZeroMetric.executionsPerSecond, Int(eps.rounded()))
            }
        }
    }

    // 2. "HotLoop.<name>": W1-W4's loops on a machine built once, in the benchmark's setup. One
    //    benchmark iteration is what `WorkloadRunner` times per repetition: restore the start
    //    snapshot, set the loop counter, run to HLT. Nothing else is inside the measurement, so
    //    its malloc count is the interpreter's own per run (restore plus the threaded loop over cached blocks).
    for workload in HotLoop.workloads {
        let metrics = standardMetrics + [RingZeroMetric.guestInstructions, RingZeroMetric.modelledCycles,
                                         RingZeroMetric.guestInstructionsPerSecond, RingZeroMetric.picosecondsPerInstruction]
        Benchmark(
            "HotLoop.\(workload.rawValue)",
            configuration: .init(
                metrics: metrics,
                warmupIterations: 2,
                maxDuration: maxDuration,
                maxIterations: 1_000,
                thresholds: thresholds(metrics)
            ),
            closure: { benchmark, loop in
                let iterations = loop.iterations
                benchmark.startMeasurement()
                let t0 = ContinuousClock.now
                let outcome = loop.run(iterations: iterations)
                let elapsed = ContinuousClock.now - t0
                benchmark.stopMeasurement()
                guard outcome.reason == .hlt else {
                    benchmark.error("\(workload.rawValue) stopped with \(outcome.reason.rawValue) at 0x\(String(outcome.rip, radix: 16))")
                    return
                }
                let instructions = loop.machine.instructionCount
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
                benchmark.measurement(RingZeroMetric.guestInstructions, Int(instructions))
                benchmark.measurement(RingZeroMetric.modelledCycles, Int(loop.machine.cycleCount))
                benchmark.measurement(RingZeroMetric.guestInstructionsPerSecond, Int((Double(instructions) / seconds).rounded()))
                benchmark.measurement(RingZeroMetric.picosecondsPerInstruction, Int((seconds * 1e12 / Double(instructions)).rounded()))
            },
            setup: {
                try HotLoop(workload, scale: scale)
            }
        )
    }
}

// MARK: Hot loops

/// W1-W4 set up as `WorkloadRunner` sets them up, through the library's public API.
///
/// `init` checks the loop by comparing the retired instruction count with
/// `Workload.instructionsPerIteration`.
final class HotLoop: @unchecked Sendable {
    static let workloads: [Workload] = [.alu, .cr, .msr, .vmx]

    let workload: Workload
    let machine: Machine
    let start: Snapshot
    /// Loop iterations per run: `WorkloadRunner`'s count for the scale.
    let iterations: Int

    init(_ workload: Workload, scale: Double, profile: CPUProfile = .i7_5600u) throws {
        self.workload = workload
        machine = try Machine(profile: profile)
        workload.prepare(machine)
        start = machine.snapshot()
        let perScale = workload == .alu ? 4_000_000 : workload == .vmx ? 1_000_000 : 1_500_000
        iterations = max(1, Int(Double(perScale) * scale))

        // Decode and warm up, and check the loop against the library's description of it.
        let warmup = min(iterations, 10_000)
        let outcome = run(iterations: warmup)
        guard outcome.reason == .hlt else {
            throw RingZero.BenchmarkError(description: "\(workload.rawValue) stopped with \(outcome.reason.rawValue) at 0x\(String(outcome.rip, radix: 16))")
        }
        let expected = UInt64(warmup * (workload.instructionsPerIteration ?? 0))
        guard machine.instructionCount == expected || machine.instructionCount == expected + 1 else {
            throw RingZero.BenchmarkError(description: "\(workload.rawValue): \(machine.instructionCount) instructions for \(warmup) iterations, expected \(expected) (+1 for HLT): the loop no longer matches Workload.instructionsPerIteration")
        }
    }

    /// One run: what `WorkloadRunner` times per repetition.
    @inline(__always)
    func run(iterations: Int) -> RunOutcome {
        try? machine.restore(start)
        machine.state[workload.counter] = UInt64(iterations)
        return machine.run()
    }
}
