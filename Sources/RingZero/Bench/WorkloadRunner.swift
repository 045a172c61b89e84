#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One workload's measurement: medians over the repetitions.
public struct BenchmarkResult: Sendable {
    public var workload: Workload
    /// Guest instructions per second and nanoseconds per guest instruction (loop and decode
    /// workloads; nil for the ones measured per execution).
    public var instructionsPerSecond: Double?
    public var nsPerInstruction: Double?
    /// Executions per second and nanoseconds per execution (cold sequences, restores).
    public var executionsPerSecond: Double?
    public var nsPerExecution: Double?
    /// Guest instructions and modelled cycles of one repetition (the interpreter's own counters).
    public var guestInstructions: UInt64
    public var modelledCycles: UInt64
}

/// How to run the workloads.
public struct BenchmarkOptions: Sendable {
    /// Repetitions per workload; the median is reported.
    public var repetitions = 5
    /// Multiplies the work per repetition (1 = about 0.1-0.3 s per repetition on a 2020s core).
    public var scale = 1.0
    /// Register a do-nothing hook of every kind but the before-instruction and memory hooks,
    /// to show what registered hooks cost.
    public var hooks = false
    public var profile = CPUProfile.i7_5600u

    public init(repetitions: Int = 5, scale: Double = 1.0, hooks: Bool = false, profile: CPUProfile = .i7_5600u) {
        self.repetitions = repetitions
        self.scale = scale
        self.hooks = hooks
        self.profile = profile
    }
}

/// A workload that did not run as designed (a bug, reported instead of a crash).
public struct BenchmarkError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(description: String) { self.description = description }
}

/// Runs the workloads of ``Workload``.
public enum WorkloadRunner {
    /// The host processor's name (Linux: /proc/cpuinfo), for reports.
    public static var host: String {
        guard let file = fopen("/proc/cpuinfo", "r") else { return "unknown" }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 512)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if text.hasPrefix("model name"), let colon = text.firstIndex(of: ":") {
                return String(text[text.index(after: colon)...]).trimmingWhitespace
            }
        }
        return "unknown"
    }

    public static func run(_ workload: Workload, options: BenchmarkOptions = BenchmarkOptions()) throws -> BenchmarkResult {
        switch workload {
        case .alu, .cr, .msr, .vmx: try loop(workload, options)
        case .cold: try cold(options)
        case .decode: try decode(options)
        case .restore1: try restore(pages: 1, options)
        case .restore64: try restore(pages: 64, options)
        }
    }

    // MARK: Workloads

    /// Iterations per repetition at scale 1.
    private static func iterations(_ w: Workload) -> Int {
        switch w {
        case .alu: 4_000_000
        case .cr, .msr: 1_500_000
        default: 1_000_000
        }
    }

    private static func loop(_ w: Workload, _ options: BenchmarkOptions) throws -> BenchmarkResult {
        let machine = try Machine(profile: options.profile)
        w.prepare(machine)
        if options.hooks { registerIdleHooks(machine) }
        let start = machine.snapshot()
        let count = max(1, Int(Double(iterations(w)) * options.scale))
        func once(_ n: Int) throws -> (Double, UInt64, UInt64) {
            try machine.restore(start)
            machine.state[w.counter] = UInt64(n)
            let t0 = now()
            let outcome = machine.run()
            let elapsed = now() - t0
            guard outcome.reason == .hlt else {
                throw BenchmarkError(description: "\(w.rawValue) stopped with \(outcome.reason.rawValue) at 0x\(String(outcome.rip, radix: 16))")
            }
            return (elapsed, machine.instructionCount, machine.cycleCount)
        }
        _ = try once(min(count, 10_000))  // decode and warm up
        var samples: [Double] = []
        var last = (0.0, UInt64(0), UInt64(0))
        for _ in 0..<max(1, options.repetitions) {
            last = try once(count)
            samples.append(last.0 / Double(last.1))
        }
        let ns = median(samples) * 1e9
        return BenchmarkResult(workload: w, instructionsPerSecond: 1e9 / ns, nsPerInstruction: ns,
                               guestInstructions: last.1, modelledCycles: last.2)
    }

    /// Fresh 16-instruction sequences: reset by snapshot, new bytes each time.
    private static func cold(_ options: BenchmarkOptions) throws -> BenchmarkResult {
        let machine = try Machine(profile: options.profile)
        // As the structured fuzzer does: its encodings skip Capstone (`DirectDecoder`).
        machine.decodesCommonFormsDirectly = true
        machine.state = MachineSetup.defaults(for: .long, memorySize: machine.memory.size, profile: options.profile)
        machine.state.rip = 0x1000
        if options.hooks { registerIdleHooks(machine) }
        let start = machine.snapshot()
        var generator = SequenceGenerator(seed: 0x5EED)
        let executions = max(1, Int(20_000 * options.scale))
        var instructions: UInt64 = 0, cycles: UInt64 = 0
        // The same programs in every repetition, so the counters do not depend on how many
        // repetitions run; each execution still loads new bytes over the last one's.
        let programs = (0..<executions).map { _ in generator.sequence(length: 16) }
        let ns = try medianNanoseconds(options, per: executions) {
            instructions = 0
            cycles = 0
            for code in programs {
                try machine.restore(start)
                machine.load(code, at: 0x1000)
                _ = machine.run(RunOptions(maxInstructions: 64))
                instructions &+= machine.instructionCount
                cycles &+= machine.cycleCount
            }
        }
        return BenchmarkResult(workload: .cold, executionsPerSecond: 1e9 / ns, nsPerExecution: ns,
                               guestInstructions: instructions, modelledCycles: cycles)
    }

    /// Capstone decoding plus lowering of the W2 and W3 loop bodies, instruction by instruction.
    private static func decode(_ options: BenchmarkOptions) throws -> BenchmarkResult {
        let machine = try Machine(profile: options.profile)
        let code = Workload.cr.loop.dropLast() + Workload.msr.loop.dropLast()
        machine.load(Array(code), at: 0x1000)
        var addresses: [UInt64] = []
        var pc: UInt64 = 0x1000
        while pc < 0x1000 + UInt64(code.count) {
            addresses.append(pc)
            pc = machine.decodeOne(at: pc, mode: .bits64).nextAddress
        }
        let rounds = max(1, Int(20_000 * options.scale))
        var sink: UInt64 = 0
        let ns = medianNanoseconds(options, per: rounds * addresses.count) {
            for _ in 0..<rounds {
                for a in addresses { sink &+= UInt64(machine.decodeOne(at: a, mode: .bits64).length) }
            }
        }
        if sink == 0 { throw BenchmarkError(description: "the decoder returned nothing") }
        return BenchmarkResult(workload: .decode, instructionsPerSecond: 1e9 / ns, nsPerInstruction: ns,
                               guestInstructions: UInt64(rounds * addresses.count), modelledCycles: 0)
    }

    /// Dirty `pages` pages of a 16 MiB guest, then restore its snapshot.
    private static func restore(pages: Int, _ options: BenchmarkOptions) throws -> BenchmarkResult {
        let machine = try Machine(profile: options.profile, memorySize: 16 << 20)
        machine.load(Workload.alu.loop, at: 0x1000)
        let start = machine.snapshot()
        let stride = (16 << 20) / 4096 / pages
        let rounds = max(1, Int(20_000 * options.scale))
        let ns = try medianNanoseconds(options, per: rounds) {
            for r in 0..<rounds {
                for p in 0..<pages { machine.memory.write(UInt64(p * stride) << 12, 8, UInt64(r)) }
                try machine.restore(start)
            }
        }
        return BenchmarkResult(workload: pages == 1 ? .restore1 : .restore64, executionsPerSecond: 1e9 / ns,
                               nsPerExecution: ns, guestInstructions: 0, modelledCycles: 0)
    }

    // MARK: Helpers

    /// Time `work` once per repetition; the median, in nanoseconds per one of its `units`.
    private static func medianNanoseconds(_ options: BenchmarkOptions, per units: Int, _ work: () throws -> Void) rethrows -> Double {
        var samples: [Double] = []
        for _ in 0..<max(1, options.repetitions) {
            let t0 = now()
            try work()
            samples.append((now() - t0) / Double(units))
        }
        return median(samples) * 1e9
    }

    private static func registerIdleHooks(_ machine: Machine) {
        machine.onException { _, _ in .proceed }
        machine.onRDMSR { _, _ in .normal }
        machine.onWRMSR { _, _, _ in .normal }
        machine.onControlRegisterWrite { _, _ in .proceed }
        machine.onTransition { _, _ in .proceed }
    }

    private static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    private static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}

extension String {
    var trimmingWhitespace: String {
        let scalars = unicodeScalars.drop { $0 == " " || $0 == "\t" }
        var s = String(String.UnicodeScalarView(scalars))
        while let last = s.last, last == " " || last == "\n" || last == "\t" { s.removeLast() }
        return s
    }
}

/// Random but valid 64-bit instruction sequences for the cold workload: integer instructions on
/// random registers and immediates, with control-register reads, CLTS and RDMSR mixed in.
struct SequenceGenerator {
    private var random: SplitMix64

    init(seed: UInt64) { random = SplitMix64(seed: seed) }

    mutating func next() -> UInt64 { random.next() }

    /// A general-purpose register other than RSP, 0-7.
    private mutating func register() -> UInt8 {
        let r = UInt8(next() % 7)
        return r >= 4 ? r + 1 : r
    }

    /// `length` instructions, then HLT.
    mutating func sequence(length: Int) -> [UInt8] {
        var code: [UInt8] = []
        var count = 0
        while count < length {
            let a = register(), b = register()
            switch next() % 9 {
            case 0: code += [0xB8 + a] + withUnsafeBytes(of: UInt32(truncatingIfNeeded: next())) { Array($0) }  // mov r32, imm32
            case 1: code += [0x48, [0x01, 0x29, 0x31, 0x21, 0x09][Int(next() % 5)], 0xC0 | (b << 3) | a]     // alu r64, r64
            case 2: code += [0x48, 0xC1, 0xE0 | a, UInt8(next() % 64)]                                       // shl r64, imm8
            case 3: code += [0x48, 0x0F, 0xAF, 0xC0 | (a << 3) | b]                                          // imul r64, r64
            case 4: code += [0x0F, 0x20, (next() % 2 == 0 ? 0xC0 : 0xE0) | a]                                 // mov r64, cr0/cr4
            case 5: code += [0x0F, 0x06]                                                                     // clts
            case 6 where count + 2 <= length:
                code += [0xB9, 0x74, 0x01, 0x00, 0x00, 0x0F, 0x32]                                           // mov ecx, 0x174; rdmsr
                count += 1
            case 7: code += [0x48, 0x83, 0xC0 | a, UInt8(next() & 0x7F)]                                     // add r64, imm8
            default: code += [0x48, 0xFF, 0xC0 | a]                                                          // inc r64
            }
            count += 1
        }
        return code + [0xF4]
    }
}
