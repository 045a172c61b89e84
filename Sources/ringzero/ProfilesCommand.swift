import ArgumentParser
import RingZero

struct ProfilesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profiles",
        abstract: "List the built-in CPU profiles, or print one as JSON.",
        subcommands: [List.self, Show.self],
        defaultSubcommand: List.self
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the built-in CPU profiles.")

        func run() {
            var lines = ["name        VMX  SMX  MAXPHYADDR  processor"]
            for p in CPUProfile.builtins {
                lines.append("\(p.name.padding(12))\((p.hasVMX ? "yes" : "no").padding(5))\((p.hasSMX ? "yes" : "no").padding(5))\(String(p.maxPhysicalAddress).padding(12))\(p.processor)")
            }
            emit(lines.joined(separator: "\n"))
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a profile as JSON, in the form --profile FILE.json accepts."
        )

        @Argument(help: "A built-in profile name, or a profile JSON file to check and print back.")
        var name: String

        func run() throws {
            emit(try loadProfile(name).json.formatted())
        }
    }
}
