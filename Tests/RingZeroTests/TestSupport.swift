import Foundation
@testable import RingZero

/// The repository's root, found from this file's path.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Bytes from a hex string with optional spaces: "48 01 d8".
func bytes(_ hex: String) -> [UInt8] {
    let digits = Array(hex.filter { !$0.isWhitespace })
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0..<$0 + 2]), radix: 16)! }
}

/// A machine with `code` loaded at 0x1000 in `mode`, optionally with a state file.
func makeMachine(_ code: String, profile: CPUProfile = .i7_5600u, mode: OperatingMode = .long, state: String? = nil) throws -> Machine {
    let stateJSON = try state.map { try JSONValue.parse($0) }
    return try MachineSetup(profile: profile, mode: mode, state: stateJSON).makeMachine(blob: bytes(code))
}

/// Run `code` to its end (or first fault) after `setup` adjusts the machine.
@discardableResult
func run(_ code: String, profile: CPUProfile = .i7_5600u, mode: OperatingMode = .long, state: String? = nil,
         options: RunOptions = RunOptions(), setup: (Machine) -> Void = { _ in }) throws -> (Machine, RunOutcome) {
    let m = try makeMachine(code, profile: profile, mode: mode, state: state)
    setup(m)
    let outcome = m.run(options)
    return (m, outcome)
}

/// The six status flags of a machine.
func status(_ m: Machine) -> UInt64 { m.state.rflags & RFLAGS.status }
