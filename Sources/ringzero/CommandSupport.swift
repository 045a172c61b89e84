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
        // Digits only: `UInt64(_:radix:)` alone also takes a sign ("0x+10", "+16").
        if lower.hasPrefix("0x") {
            let digits = lower.dropFirst(2)
            guard !digits.isEmpty, digits.allSatisfy(\.isHexDigit), let v = UInt64(digits, radix: 16) else { return nil }
            value = v
        } else {
            guard !lower.isEmpty, lower.allSatisfy(\.isASCII), lower.allSatisfy(\.isNumber), let v = UInt64(lower) else { return nil }
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

/// `text` on one line: line breaks and other control characters (which a message may quote
/// from its input: a JSON key, a path) written as escapes.
func oneLine(_ text: String) -> String {
    var out = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F { out += String(format: "\\u{%X}", scalar.value) } else { out.unicodeScalars.append(scalar) }
        }
    }
    return out
}

/// Print one line naming the problem and exit with `status`.
func fail(_ message: String, status: Int32) -> ExitCode {
    emitError("ringzero: \(oneLine(message))\n")
    return ExitCode(status)
}

/// The most a JSON input (a state file, a profile, the gate file) may hold: enough for a state
/// file that spells out a 64 MiB guest in hex; larger regions belong in a `file` entry.
let jsonInputLimit = 256 << 20

/// Read a whole input file of at most `limit` bytes, or fail: status 66 when it cannot be
/// read, 65 when it is larger than the limit (what the limit is, `tooLarge`, says).
func readInput(_ path: String, what: String, limit: Int, tooLarge: String) throws -> [UInt8] {
    do throws(InputFile.Failure) {
        return try InputFile.read(path, limit: limit)
    } catch {
        switch error {
        case .missing, .unreadable:
            throw fail("cannot read \(what) \(path): \(error.reason)", status: ExitStatus.noInput)
        case .tooLarge(let limit, stream: false):
            throw fail("\(what) \(path) is larger than \(tooLarge) (\(InputFile.describe(limit)))", status: ExitStatus.dataError)
        case .tooLarge(let limit, stream: true):
            throw fail("\(what) \(path) gives more than a pipe or device may (\(InputFile.describe(limit)))", status: ExitStatus.dataError)
        }
    }
}

/// Parse a JSON input file, or fail with status 65 naming the file.
func readJSON(_ path: String, what: String) throws -> JSONValue {
    let bytes = try readInput(path, what: what, limit: jsonInputLimit, tooLarge: "a JSON input may be")
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


