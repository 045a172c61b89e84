// profile-diff: run one blob under every built-in CPU profile and print where the results
// diverge. A small tool written against the RingZero library's public API alone.
//
//   swift run profile-diff Fixtures/examples/vmx-enable.bin [--mode long] [--state FILE.json] [--costs]
//
// --costs adds the per-form cycle breakdown (counters.byInstruction) to the comparison.

import Foundation
import RingZero

func fail(_ message: String, _ status: Int32) -> Never {
    FileHandle.standardError.write(Data("profile-diff: \(message)\n".utf8))
    exit(status)
}

// Arguments: BLOB [--mode M] [--state FILE]
var arguments = Array(CommandLine.arguments.dropFirst())
var mode = OperatingMode.long
var stateFile: String?
var blobPath: String?
var showCosts = false
while !arguments.isEmpty {
    let a = arguments.removeFirst()
    switch a {
    case "--mode":
        guard let m = arguments.first.flatMap(OperatingMode.init(rawValue:)) else { fail("--mode needs real, protected, v8086, compat or long", 64) }
        mode = m
        arguments.removeFirst()
    case "--state":
        guard let s = arguments.first else { fail("--state needs a file", 64) }
        stateFile = s
        arguments.removeFirst()
    case "--costs":
        showCosts = true
    case "-h", "--help":
        print("usage: profile-diff BLOB [--mode real|protected|v8086|compat|long] [--state FILE.json] [--costs]")
        exit(0)
    default:
        if blobPath != nil { fail("unexpected argument \(a)", 64) }
        blobPath = a
    }
}
guard let blobPath else { fail("usage: profile-diff BLOB [--mode M] [--state FILE.json]", 64) }
guard let blob = FileManager.default.contents(atPath: blobPath) else { fail("cannot read \(blobPath)", 66) }

var state: JSONValue?
var stateDirectory = "."
if let stateFile {
    guard let data = FileManager.default.contents(atPath: stateFile) else { fail("cannot read \(stateFile)", 66) }
    do {
        state = try JSONValue.parse(String(decoding: data, as: UTF8.self))
    } catch {
        fail("\(stateFile): \(error)", 65)
    }
    stateDirectory = URL(fileURLWithPath: stateFile).deletingLastPathComponent().path
}

// Run the blob under each profile, through the same setup the CLI uses.
var columns: [(name: String, fields: [String: String], order: [String])] = []
for profile in CPUProfile.builtins {
    do {
        let machine = try MachineSetup(profile: profile, mode: mode, state: state, stateDirectory: stateDirectory)
            .makeMachine(blob: [UInt8](blob))
        let report = Report(machine: machine, outcome: machine.run())
        let fields = report.json.leaves()
        columns.append((profile.name, Dictionary(fields.map { ($0.path, $0.value) }, uniquingKeysWith: { a, _ in a }), fields.map(\.path)))
    } catch {
        columns.append((profile.name, ["error": error.description], ["error"]))
    }
}

// The fields whose value is not the same under every profile, in report order.
var paths: [String] = []
for column in columns { for p in column.order where !paths.contains(p) { paths.append(p) } }
let diverging = paths.filter { p in
    (showCosts || !p.hasPrefix("counters.byInstruction.")) && Set(columns.map { $0.fields[p] ?? "-" }).count > 1
}
if diverging.isEmpty {
    print("All \(columns.count) profiles agree on every report field.")
    exit(0)
}
let width = max(5, diverging.map(\.count).max() ?? 0) + 2
func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
let cell = 22
print(pad("field", width) + columns.map { pad($0.name, cell) }.joined())
for p in diverging {
    print(pad(p, width) + columns.map { pad($0.fields[p] ?? "-", cell) }.joined())
}
