import ArgumentParser
import RingZero

struct DisasmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disasm",
        abstract: "List a blob's instructions with Capstone and mark which ones RingZero implements."
    )

    @Argument(help: "The raw machine-code file to list.")
    var blob: String

    @Option(help: "Code mode whose default sizes decode the bytes: real, protected, v8086, compat (32-bit) or long (64-bit).")
    var mode: OperatingMode = .long

    @Option(name: .customLong("load-address"), help: "Address of the first byte.")
    var loadAddress: Number = Number(argument: "0x1000")!

    /// The most a listing reads: 64 MiB of code is millions of lines.
    private var disasmLimit: Int { 64 << 20 }

    func run() throws {
        let bytes = try readInput(blob, what: "blob", limit: disasmLimit, tooLarge: "disasm reads")
        let decoder: Decoder
        do {
            decoder = try Decoder()
        } catch {
            throw fail(error.description, status: ExitStatus.software)
        }
        let codeMode: CodeMode = switch mode {
        case .long: .bits64
        case .compat, .protected: .bits32
        case .real, .v8086: .bits16
        }
        var lines: [String] = []
        for entry in decoder.listing(bytes, at: loadAddress.value, mode: codeMode) {
            let hex = entry.bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
            let mark = entry.raisesUD ? "#UD" : (entry.implemented ? "yes" : "NO ")
            let address = "0x" + String(entry.address, radix: 16)
            lines.append("\(address.padding(12))\(hex.padding(32))\(mark)  \(entry.text ?? "(bad)")")
        }
        lines.append("# yes: implemented; NO: stops the run as unsupported; #UD: raises #UD (not an instruction, or an invalid form)")
        emit(lines.joined(separator: "\n"))
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self + " " : self + String(repeating: " ", count: width - count) }
}
