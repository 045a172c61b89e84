import Foundation
import ArgumentParser

@main
struct RingZeroCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ringzero",
        abstract: "A cycle-level interpreter for the x86 instructions that turn virtualization on and off.",
        discussion: """
        Runs raw machine code against a CPU profile and reports exactly what the processor \
        would do: MOV CR, CLTS, LMSW, RDMSR/WRMSR, GETSEC, VMXON and VMXOFF with every \
        fault the SDM lists, plus the integer instructions around them.

        Exit status: 0 the run completed (guest faults included), 1 a check failed (fuzz found \
        a violation, bench --gate failed), 64 bad command line, 65 bad input data, 66 an input \
        file cannot be read, 70 internal error.
        """,
        subcommands: [RunCommand.self, DisasmCommand.self, ProfilesCommand.self, BenchCommand.self, FuzzCommand.self]
    )

    /// The argument parser's own entry point, but for its errors: a bad command line gets one
    /// line on standard error, as every other error does, instead of the message and a usage
    /// summary; `--help` and the subcommands' own failures are unchanged.
    static func main() {
        let command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            let status = exitCode(for: error)
            // --help, --version: printed and exit 0 by the parser.
            if status == .success { exit(withError: error) }
            // The message without the help or usage lines the parser may add; a line break
            // inside it comes from what the user typed (`--mode $'lo\nng'`) and is escaped.
            let lines = message(for: error).components(separatedBy: "\n")
            let kept = lines.prefix { !$0.hasPrefix("Help:") && !$0.hasPrefix("Usage:") }.joined(separator: "\n")
            let text = kept.trimmingCharacters(in: .whitespacesAndNewlines)
            emitError("ringzero: \(oneLine(text.isEmpty ? "bad command line" : text)) (ringzero help for usage)\n")
            Foundation.exit(status.rawValue)
        }
        do {
            var command = command
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}
