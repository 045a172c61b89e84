/// Input the tool refuses: a state file, profile or blob that cannot describe a machine.
/// The CLI exits 65 for `.badData`, 66 for `.unreadable` and 70 for `.internalError` (the
/// tool itself failed, e.g. Capstone could not be opened).
public struct InputError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable { case badData, unreadable, internalError }
    public var kind: Kind
    public var description: String

    public init(_ description: String, kind: Kind = .badData) {
        self.description = description
        self.kind = kind
    }
}

/// Typed readers for JSON fields; every error names the field's path.
enum Field {
    /// A 64-bit value: a hex string ("0x1f") or a plain non-negative JSON integer.
    static func uint64(_ value: JSONValue, _ path: String) throws(InputError) -> UInt64 {
        switch value {
        case .string(let s):
            let lower = s.lowercased()
            // Hex digits only: `UInt64(_:radix:)` alone also takes a sign ("0x+f").
            guard lower.hasPrefix("0x"), lower.count > 2, lower.count <= 18, lower.dropFirst(2).allSatisfy(\.isHexDigit),
                  let v = UInt64(lower.dropFirst(2), radix: 16) else {
                throw InputError("\(path): malformed hex value \"\(s)\" (expected 0x followed by 1-16 hex digits)")
            }
            return v
        case .number(let n):
            guard let v = UInt64(n) else { throw InputError("\(path): \(n) is not an integer from 0 to 2^64-1") }
            return v
        default:
            throw InputError("\(path): expected a hex string or an integer")
        }
    }

    static func uint64OrNull(_ value: JSONValue, _ path: String) throws(InputError) -> UInt64? {
        if case .null = value { return nil }
        return try uint64(value, path)
    }

    static func bounded(_ value: JSONValue, _ path: String, max: UInt64) throws(InputError) -> UInt64 {
        let v = try uint64(value, path)
        if v > max { throw InputError("\(path): \(v) is larger than \(max)") }
        return v
    }

    static func bool(_ value: JSONValue, _ path: String) throws(InputError) -> Bool {
        guard case .bool(let b) = value else { throw InputError("\(path): expected true or false") }
        return b
    }

    static func string(_ value: JSONValue, _ path: String) throws(InputError) -> String {
        guard case .string(let s) = value else { throw InputError("\(path): expected a string") }
        return s
    }

    static func array(_ value: JSONValue, _ path: String) throws(InputError) -> [JSONValue] {
        guard case .array(let a) = value else { throw InputError("\(path): expected an array") }
        return a
    }

    /// An object whose keys must all be in `allowed`.
    static func object(_ value: JSONValue, _ path: String, allowed: [String]? = nil) throws(InputError) -> [(String, JSONValue)] {
        guard case .object(let pairs) = value else { throw InputError("\(path.isEmpty ? "the document" : path): expected an object") }
        if let allowed {
            for (key, _) in pairs where !allowed.contains(key) {
                throw InputError("\(path.isEmpty ? "" : path + ".")\(key): unknown field")
            }
        }
        return pairs
    }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
}
