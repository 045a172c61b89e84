import ArgumentParser
import Foundation
import RingZero

/// A number in decimal or 0x hexadecimal.
struct Number: ExpressibleByArgument {
    let value: UInt64
    let text: String

    var defaultValueDescription: String { text }

    init?(argument: String) {
        text = argument
        let lower = argument.lowercased()
        if lower.hasPrefix("0x") {
            guard lower.count > 2, let v = UInt64(lower.dropFirst(2), radix: 16) else { return nil }
            value = v
        } else {
            guard let v = UInt64(lower) else { return nil }
            value = v
        }
    }
}

/// A memory size: bytes (decimal or 0x), or with a K, M or G suffix (powers of 1024).
struct Size: ExpressibleByArgument {
    let value: UInt64
    let text: String

    var defaultValueDescription: String { text }

    init?(argument: String) {
        text = argument
        let units: [Character: UInt64] = ["k": 1 << 10, "m": 1 << 20, "g": 1 << 30]
        var amount = argument.lowercased()
        if amount.hasSuffix("ib") { amount.removeLast(2) } else if amount.hasSuffix("b") && !amount.hasPrefix("0x") { amount.removeLast() }
        var multiplier: UInt64 = 1
        if let last = amount.last, let unit = units[last] {
            multiplier = unit
            amount.removeLast()
        }
        guard let n = Number(argument: amount) else { return nil }
        let (v, overflow) = n.value.multipliedReportingOverflow(by: multiplier)
        // At least one page, at most 64 GiB: the memory is really allocated.
        guard !overflow, v >= 4096, v <= 64 << 30 else { return nil }
        value = v
    }
}

extension OperatingMode: ExpressibleByArgument {}
extension FaultPolicy: ExpressibleByArgument {}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// Exit statuses of the interface.
enum ExitStatus {
    static let usage: Int32 = 64
    static let dataError: Int32 = 65
    static let noInput: Int32 = 66
    static let software: Int32 = 70
}

/// Print one line naming the problem and exit with `status`.
func fail(_ message: String, status: Int32) -> ExitCode {
    FileHandle.standardError.write(Data("ringzero: \(message)\n".utf8))
    return ExitCode(status)
}

/// Read a whole input file, or fail with status 66.
func readInput(_ path: String, what: String) throws -> [UInt8] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw fail("cannot read \(what) \(path): no such file", status: ExitStatus.noInput)
    }
    // Read through a handle to the end rather than by the size `stat` reports, which is 0
    // for a pipe (`--state <(...)`, /dev/stdin).
    guard !isDirectory.boolValue, let handle = FileHandle(forReadingAtPath: path),
          let data = try? handle.readToEnd() ?? Data() else {
        throw fail("cannot read \(what) \(path)", status: ExitStatus.noInput)
    }
    try? handle.close()
    return [UInt8](data)
}

/// Parse a JSON input file, or fail with status 65 naming the file.
func readJSON(_ path: String, what: String) throws -> JSONValue {
    let bytes = try readInput(path, what: what)
    guard let text = String(validating: bytes, as: UTF8.self) else {
        throw fail("\(what) \(path): not UTF-8 text", status: ExitStatus.dataError)
    }
    do {
        return try JSONValue.parse(text)
    } catch {
        throw fail("\(what) \(path): \(error.description)", status: ExitStatus.dataError)
    }
}

/// A built-in profile by name, or a profile JSON file.
func loadProfile(_ argument: String) throws -> CPUProfile {
    if let builtin = CPUProfile.builtin(named: argument) { return builtin }
    guard argument.hasSuffix(".json") || argument.contains("/") else {
        let names = CPUProfile.builtins.map(\.name).joined(separator: ", ")
        throw fail("unknown profile \"\(argument)\" (built-in profiles: \(names); or give a .json file)", status: ExitStatus.usage)
    }
    let json = try readJSON(argument, what: "profile")
    do {
        return try CPUProfile(json: json)
    } catch {
        throw fail("profile \(argument): \(error.description)", status: ExitStatus.dataError)
    }
}

/// Write to standard output in one piece.
func emit(_ text: String) {
    FileHandle.standardOutput.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
}
