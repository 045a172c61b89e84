import ArgumentParser
import Foundation
import RingZero

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Load a raw machine-code file, execute it, and print the final report."
    )

    @Argument(help: "The raw machine-code file to load.")
    var blob: String

    @Option(help: "CPU profile: a built-in name (i7-5600u, i7-6700k, atom-330) or a profile JSON file.")
    var profile: String = "i7-5600u"

    @Option(help: "Initial machine state as JSON; any field may be left out. A report is accepted as a state file.")
    var state: String?

    @Option(help: "Initial operating mode (real, protected, v8086, compat, long); the state file's fields win over its defaults.")
    var mode: OperatingMode = .long

    @Option(name: .customLong("load-address"), help: "Guest-physical address where the blob is placed; RIP starts there.")
    var loadAddress: Number = Number(argument: "0x1000")!

    @Option(help: "Guest-physical memory size: bytes, or with K, M or G (16M, 1G).")
    var memory: Size = Size(argument: "16M")!

    @Option(name: .customLong("max-instructions"), help: "Stop after this many instructions: retired ones plus exceptions taken under --on-fault continue.")
    var maxInstructions: Number = Number(argument: "1000000000")!

    @Option(name: .customLong("max-cycles"), help: "Stop once the cycle counter reaches this value.")
    var maxCycles: Number?

    @Option(name: .customLong("on-fault"), help: "stop: the first exception ends the run; continue: record it and resume at the next instruction.")
    var onFault: FaultPolicy = .stop

    @Option(name: .customLong("unknown-msr"), help: "RDMSR/WRMSR of an MSR the profile lacks: gp raises #GP(0) as the processor would; zero reads 0 and ignores writes.")
    var unknownMSR: UnknownMSRPolicy = .gp

    @Flag(help: "Print one line per instruction on standard error: cycles, address, bytes, disassembly, changed registers.")
    var trace = false

    @Flag(name: .customLong("reference"), help: "Decode every instruction afresh with no Op cache (the reference path; slow).")
    var reference = false

    @Option(help: "The final report's form: text or json.")
    var format: OutputFormat = .text

    func run() throws {
        // A blob that does not fit cannot be loaded: read no more than fits from the load
        // address (a load address outside memory is refused by the setup, which says so).
        let room = loadAddress.value < memory.value ? memory.value - loadAddress.value : memory.value
        let bytes = try readInput(blob, what: "blob", limit: Int(clamping: room), tooLarge: "guest memory from the load address")
        let profile = try loadProfile(self.profile)
        var stateJSON: JSONValue?
        var stateDirectory = "."
        if let state {
            stateJSON = try readJSON(state, what: "state file")
            stateDirectory = URL(fileURLWithPath: state).deletingLastPathComponent().path
        }
        let setup = MachineSetup(profile: profile, mode: mode, memorySize: memory.value, loadAddress: loadAddress.value,
                                 state: stateJSON, stateDirectory: stateDirectory)
        let machine: Machine
        do {
            machine = try setup.makeMachine(blob: bytes)
        } catch {
            let status = switch error.kind {
            case .badData: ExitStatus.dataError
            case .unreadable: ExitStatus.noInput
            case .internalError: ExitStatus.software
            }
            throw fail(error.description, status: status)
        }
        if unknownMSR == .zero {
            // Lenient mode is one RDMSR hook and one WRMSR hook of the library.
            machine.onRDMSR { m, index in m.hasMSR(index) ? .normal : .value(0) }
            machine.onWRMSR { m, index, _ in m.hasMSR(index) ? .normal : .ignore }
        }
        let options = RunOptions(maxInstructions: maxInstructions.value, maxCycles: maxCycles?.value, onFault: onFault, referencePath: reference)
        let outcome: RunOutcome
        if trace {
            outcome = machine.runTraced(options) { record in
                emitError(record.line + "\n")
            }
        } else {
            outcome = machine.run(options)
        }
        let report = Report(machine: machine, outcome: outcome)
        emit(format == .json ? report.jsonText : report.text)
    }
}

/// What `--unknown-msr` does with an MSR the profile lacks.
enum UnknownMSRPolicy: String, ExpressibleByArgument, CaseIterable {
    case gp, zero
}
