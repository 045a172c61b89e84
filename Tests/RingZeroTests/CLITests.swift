import Foundation
import Testing
import RingZero

/// The `ringzero` executable's exit statuses and one-line errors (interface: 0, 64, 65, 66).
@Suite struct CLITests {
    /// The built executable sits beside the test bundle.
    static let executable: URL = {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("ringzero").path) && dir.path != "/" {
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("ringzero")
    }()

    struct Result { var status: Int32; var stdout: String; var stderr: String }

    func ringzero(_ arguments: [String], stdin: [UInt8]? = nil) throws -> Result {
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = arguments
        process.currentDirectoryURL = packageRoot
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        if stdin != nil { process.standardInput = input }
        try process.run()
        if let stdin {
            input.fileHandleForWriting.write(Data(stdin))
            try input.fileHandleForWriting.close()
        }
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    func temporaryFile(_ contents: [UInt8], suffix: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ringzero-test-\(UUID().uuidString)\(suffix)").path
        _ = FileManager.default.createFile(atPath: path, contents: Data(contents))
        return path
    }

    let example = "Fixtures/examples/vmx-enable.bin"

    /// `ringzero fuzz` runs a fixed seed cleanly and says so; bad options are exit 64.
    @Test func fuzzSmokeRun() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("ringzero-fuzz-\(UUID().uuidString)").path
        let r = try ringzero(["fuzz", "--seed", "5", "--iterations", "300", "--jobs", "2", "--out", out])
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("executions 300,") && r.stdout.contains("violations 0"))
        // No violation, no reproducer folder.
        #expect(!FileManager.default.fileExists(atPath: out))
        expectError(try ringzero(["fuzz", "--iterations", "5", "--duration", "1s"]), status: 64, mentioning: "--duration")
        expectError(try ringzero(["fuzz", "--length", "0"]), status: 64, mentioning: "--length")
        expectError(try ringzero(["fuzz", "--full-check-every", "0"]), status: 64, mentioning: "--full-check-every")
    }

    /// `ringzero bench --gate` compares the deterministic counters with a committed file and
    /// fails (exit 1) on a difference.
    @Test func benchGateChecksTheCounters() throws {
        let committed = try JSONValue.parse(String(contentsOf: packageRoot.appendingPathComponent("Benchmarks/gate.json"), encoding: .utf8))
        guard case .object(let counters)? = committed["counters"], case .object(let w1)? = counters.first(where: { $0.0 == "w1-alu" })?.1 else {
            Issue.record("Benchmarks/gate.json has no w1-alu counters")
            return
        }
        func gate(_ instructions: JSONValue) throws -> Result {
            let file = JSONValue.object([
                ("scale", committed["scale"] ?? .number("0.02")), ("profile", .string("i7-5600u")),
                ("minimumSpeedupOverDecode", .object([])),
                ("counters", .object([("w1-alu", .object([("guestInstructions", instructions), ("modelledCycles", w1[1].1)]))])),
            ])
            let path = try temporaryFile(Array(file.formatted().utf8), suffix: ".json")
            return try ringzero(["bench", "--gate", path, "--repetitions", "1"])
        }
        let same = try gate(w1[0].1)
        #expect(same.status == 0 && same.stdout.contains("ok   w1-alu counters"), "\(same.stdout)\(same.stderr)")
        let changed = try gate(.number("12345"))
        #expect(changed.status == 1 && changed.stdout.contains("FAIL w1-alu counters"))
    }

    /// The example tool built on the library (Examples/ProfileDiff) prints where profiles diverge.
    @Test func profileDiffExample() throws {
        let process = Process()
        process.executableURL = Self.executable.deletingLastPathComponent().appendingPathComponent("profile-diff")
        process.arguments = [example]
        process.currentDirectoryURL = packageRoot
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let rows = text.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        #expect(rows.first == ["field", "i7-5600u", "i7-6700k", "atom-330"])
        // The Atom 330 has no VMX: its WRMSR of IA32_FEATURE_CONTROL bit 2 faults.
        #expect(rows.contains(["stop.reason", "\"hlt\"", "\"hlt\"", "\"fault\""]))
        #expect(rows.contains(["platform.txtChipset", "true", "false", "false"]))
        // Fields all three agree on are left out.
        #expect(!rows.contains { $0.first == "registers.cr0" })
    }

    @Test func runsTheExample() throws {
        let r = try ringzero(["run", example, "--format", "json"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("\"reason\": \"hlt\"") && r.stdout.contains("\"0x3a\": \"0x5\""))
        let text = try ringzero(["run", example])
        #expect(text.status == 0 && text.stdout.hasPrefix("stop:      hlt at 0x10ac"))
    }

    /// Every error is one line on standard error, with no stack trace.
    func expectError(_ r: Result, status: Int32, mentioning word: String) {
        #expect(r.status == status, "stderr: \(r.stderr)")
        let lines = r.stderr.split(separator: "\n")
        #expect(!lines.isEmpty && r.stderr.contains(word), "stderr: \(r.stderr)")
        #expect(!r.stderr.contains("Fatal error") && !r.stderr.contains("Stack dump"))
    }

    /// A blob or a state file read from a pipe (`--state <(...)`, /dev/stdin), whose size
    /// `stat` reports as 0, is read to its end.
    @Test func inputsAreReadFromPipes() throws {
        let state = Array(#"{"registers": {"rbx": "0x1234"}}"#.utf8)
        let piped = try ringzero(["run", example, "--state", "/dev/stdin", "--format", "json"], stdin: state)
        #expect(piped.status == 0, "stderr: \(piped.stderr)")
        #expect(piped.stdout.contains(#""rbx": "0x1234""#))
        let blob = try [UInt8](Data(contentsOf: packageRoot.appendingPathComponent(example)))
        let fromPipe = try ringzero(["run", "/dev/stdin", "--format", "json"], stdin: blob)
        let fromFile = try ringzero(["run", example, "--format", "json"])
        #expect(fromPipe.status == 0 && fromPipe.stdout == fromFile.stdout, "stderr: \(fromPipe.stderr)")
    }

    /// Standard output that cannot be written (a full disk): one line on standard error and
    /// exit 70, not a trap; standard error that cannot be written changes no exit status.
    @Test func outputThatCannotBeWrittenIs70() throws {
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = ["run", example]
        process.currentDirectoryURL = packageRoot
        let err = Pipe()
        process.standardOutput = try #require(FileHandle(forWritingAtPath: "/dev/full"))
        process.standardError = err
        try process.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 70 && process.terminationReason == .exit, "stderr: \(stderr)")
        #expect(stderr.hasPrefix("ringzero: cannot write standard output") && stderr.split(separator: "\n").count == 1)

        let quiet = Process()
        quiet.executableURL = Self.executable
        quiet.arguments = ["run", "/nonexistent/blob.bin"]
        quiet.standardError = try #require(FileHandle(forWritingAtPath: "/dev/full"))
        try quiet.run()
        quiet.waitUntilExit()
        #expect(quiet.terminationStatus == 66 && quiet.terminationReason == .exit)
    }

    /// Errors stay on one line whatever they quote: a key with a line break in it, a bad
    /// command line (the argument parser's message alone, no usage summary).
    @Test func errorsStayOnOneLine() throws {
        // The key is "fo", a line feed (the JSON escape), "o".
        let newline = try temporaryFile(Array(#"{"fo\no": 1}"#.utf8), suffix: ".json")
        let r = try ringzero(["run", example, "--state", newline])
        expectError(r, status: 65, mentioning: "fo\\no")
        #expect(r.stderr.split(separator: "\n").count == 1)
        for arguments in [["run", example, "--frob"], ["run"], ["run", example, "--mode", "x"], ["frob"], ["run", example, "--mode", "lo\nng"]] {
            let bad = try ringzero(arguments)
            expectError(bad, status: 64, mentioning: "ringzero:")
            #expect(bad.stderr.split(separator: "\n").count == 1 && bad.stderr.hasPrefix("ringzero: "), "\(arguments): \(bad.stderr)")
        }
        // The value the user typed, line break and all, is quoted whole.
        #expect(try ringzero(["run", example, "--mode", "lo\nng"]).stderr.contains(#"'lo\nng'"#))
    }

    /// An input larger than it may be is refused after reading one byte past the limit, so
    /// an endless one (/dev/zero) is refused too: a blob past guest memory, a memory region
    /// past the end of guest memory. Signed hex is malformed.
    @Test func oversizedInputsAreRefused() throws {
        expectError(try ringzero(["run", "/dev/zero", "--memory", "64K"]), status: 65, mentioning: "larger than guest memory")
        // A pipe or device gives at most 256 MiB, whatever guest memory holds.
        expectError(try ringzero(["run", "/dev/zero", "--memory", "1G"]), status: 65, mentioning: "more than a pipe or device may")
        let region = try temporaryFile(Array(#"{"memory": [{"address": "0xf000", "file": "/dev/zero"}]}"#.utf8), suffix: ".json")
        expectError(try ringzero(["run", example, "--memory", "64K", "--state", region]), status: 65, mentioning: "does not fit")
        let signed = try temporaryFile(Array(#"{"registers": {"rax": "0x+f"}}"#.utf8), suffix: ".json")
        expectError(try ringzero(["run", example, "--state", signed]), status: 65, mentioning: "registers.rax")
        expectError(try ringzero(["run", example, "--load-address", "0x+1000"]), status: 64, mentioning: "0x+1000")
    }

    @Test func missingFileIs66() throws {
        let r = try ringzero(["run", "/nonexistent/blob.bin"])
        expectError(r, status: 66, mentioning: "/nonexistent/blob.bin")
        #expect(r.stderr.split(separator: "\n").count == 1)
        expectError(try ringzero(["run", example, "--state", "/nonexistent/state.json"]), status: 66, mentioning: "state.json")
    }

    @Test func badCommandLineIs64() throws {
        expectError(try ringzero(["run", example, "--no-such-option"]), status: 64, mentioning: "no-such-option")
        expectError(try ringzero(["run", example, "--max-instructions", "12x"]), status: 64, mentioning: "12x")
        expectError(try ringzero(["run", example, "--profile", "pentium"]), status: 64, mentioning: "pentium")
        expectError(try ringzero(["run", example, "--memory", "lots"]), status: 64, mentioning: "lots")
    }

    @Test func badDataIs65() throws {
        let malformed = try temporaryFile(Array("{\"registers\": {".utf8), suffix: ".json")
        let r1 = try ringzero(["run", example, "--state", malformed])
        expectError(r1, status: 65, mentioning: "line 1")
        #expect(r1.stderr.split(separator: "\n").count == 1)

        let unknownMSR = try temporaryFile(Array(#"{"msrs": {"0x480": "0x1"}}"#.utf8), suffix: ".json")
        expectError(try ringzero(["run", example, "--profile", "atom-330", "--state", unknownMSR]), status: 65, mentioning: "msrs.0x480")

        let impossible = try temporaryFile(Array(#"{"vmx": {"operation": "root"}}"#.utf8), suffix: ".json")
        expectError(try ringzero(["run", example, "--state", impossible]), status: 65, mentioning: "VMXE")

        let unknownField = try temporaryFile(Array(#"{"registers": {"rzz": "0x1"}}"#.utf8), suffix: ".json")
        expectError(try ringzero(["run", example, "--state", unknownField]), status: 65, mentioning: "registers.rzz")

        let badHex = try temporaryFile(Array(#"{"registers": {"rax": "0xZZ"}}"#.utf8), suffix: ".json")
        expectError(try ringzero(["run", example, "--state", badHex]), status: 65, mentioning: "registers.rax")

        let big = try temporaryFile([UInt8](repeating: 0x90, count: 8192), suffix: ".bin")
        expectError(try ringzero(["run", big, "--memory", "8K"]), status: 65, mentioning: "larger than guest memory from the load address")
        expectError(try ringzero(["run", example, "--load-address", "0x2000000"]), status: 65, mentioning: "outside guest memory")
    }

    @Test func garbageBytesAreAGuestFault() throws {
        let garbage = try temporaryFile([0x06, 0x07, 0xD6], suffix: ".bin")
        let r = try ringzero(["run", garbage, "--format", "json", "--on-fault", "continue"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("\"mnemonic\": \"#UD\"") && r.stdout.contains("\"reason\": \"end\""))
    }

    @Test func aReportIsAcceptedAsAState() throws {
        let first = try ringzero(["run", example, "--format", "json"])
        let state = try temporaryFile(Array(first.stdout.utf8), suffix: ".json")
        let second = try ringzero(["run", example, "--state", state, "--format", "json"])
        #expect(second.status == 0)
        // Feature control is now locked, so the routine takes the "already locked" path and
        // still reaches VMXON; RIP comes from the state (the HLT's successor), so it stops at end
        // of blob or halts again without faults.
        #expect(!second.stdout.contains("\"reason\": \"fault\""))
    }

    @Test func profilesRoundTrip() throws {
        let shown = try ringzero(["profiles", "show", "i7-6700k"])
        #expect(shown.status == 0)
        let file = try temporaryFile(Array(shown.stdout.utf8), suffix: ".json")
        let again = try ringzero(["profiles", "show", file])
        #expect(again.status == 0 && again.stdout == shown.stdout)
        let r = try ringzero(["run", example, "--profile", file, "--format", "json"])
        #expect(r.status == 0 && r.stdout.contains("\"rax\": \"0x4\""))
        let list = try ringzero(["profiles", "list"])
        #expect(list.stdout.contains("i7-5600u") && list.stdout.contains("atom-330"))
    }

    @Test func disasmMarksImplementedInstructions() throws {
        let r = try ringzero(["disasm", example])
        #expect(r.status == 0 && r.stdout.contains("yes  vmxon qword ptr [rip + 0x28]"))
    }

    @Test func traceHasOneLinePerInstruction() throws {
        let r = try ringzero(["run", example, "--trace"])
        let lines = r.stderr.split(separator: "\n")
        #expect(r.status == 0 && lines.count == 49)
        #expect(lines.last?.contains("hlt") == true)
    }
}
