import Testing
@testable import RingZero

/// Random bytes in every mode: each run must end with a stop reason, never a Swift trap, and the
/// fast path and the reference path must agree on it.
@Suite struct RobustnessTests {
    /// SplitMix64: a fixed seed gives the same blobs on every machine.
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test(arguments: [OperatingMode.real, .protected, .v8086, .compat, .long])
    func randomBlobsEndCleanly(_ mode: OperatingMode) throws {
        var rng = SplitMix64(state: 0x5EED_0000 + UInt64(mode.hashValue & 0xFF))
        for _ in 0..<150 {
            let blob = (0..<48).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let hex = blob.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
            let options = RunOptions(maxInstructions: 500, onFault: .continue)
            let (fast, a) = try run(hex, mode: mode, options: options)
            var reference = options
            reference.referencePath = true
            let (slow, b) = try run(hex, mode: mode, options: reference)
            #expect(StopReason.allCases.contains(a.reason))
            #expect(a == b, "blob \(hex) in \(mode)")
            #expect(fast.state == slow.state, "blob \(hex) in \(mode)")
        }
    }
}
