import Testing
@testable import RingZero

/// Ops built without decoding: the fuzzer's `OpPrototypes` give what the decoder gives, and a
/// machine takes such Ops (`setPredecoded`) only while their code is as loaded.
@Suite struct PredecodedTests {
    /// Every instruction the generator writes (host-oracle checks included), in every mode,
    /// built from a prototype or decoded once: the same Op `DirectDecoder` gives for its bytes,
    /// in both forms (the threaded loop's fast forms and the reference path's generic
    /// handlers), address and immediate included.
    @Test(arguments: OperatingMode.allCases)
    func builtOpsAreTheDecodersOps(_ mode: OperatingMode) throws {
        let machine = try Machine(profile: .i7_5600u)
        let prototypes = OpPrototypes(costs: machine.costs)
        var generator = CaseGenerator(seed: 5, profile: .i7_5600u, length: 16, mode: mode)
        var buffer = CaseBuffer()
        var built = 0
        for i in 0..<400 {
            // Host-oracle checks too, in 64-bit code.
            if mode == .long && i % 2 == 1 { generator.nextHostCase(into: &buffer) } else { generator.nextCase(into: &buffer) }
            let ops = try #require(withUnsafePointer(to: &buffer) { prototypes.build($0, at: 0x1000) },
                                   "a generated instruction DirectDecoder does not decode")
            #expect(ops.fast.count == buffer.instructionCount && ops.generic.count == buffer.instructionCount)
            let code = UnsafeBufferPointer(buffer.storage)
            do {
                var from = 0
                for i in 0..<buffer.instructionCount {
                    let p = code.baseAddress! + from, address = 0x1000 + UInt64(from)
                    for fastForms in [true, false] {
                        var decoded = Op(handler: .nop, address: 0, length: 0, codeMode: .bits64)
                        let ok = DirectDecoder.decode(p, available: min(15, code.count - from), address: address, mode: buffer.codeMode,
                                                      costs: machine.costs, fastForms: fastForms, into: &decoded)
                        try #require(ok)
                        let op = fastForms ? ops.fast[i] : ops.generic[i]
                        #expect(op == decoded, "instruction \(i) at \(address) (fast forms \(fastForms)): built \(op), decoded \(decoded)")
                    }
                    from += Int(ops.fast[i].length)
                    built += 1
                }
                #expect(from == buffer.count)
            }
        }
        #expect(built > (mode == .long ? 2000 : 4000))
    }

    /// Ops of `alternative` (the same instruction lengths), decoded at 0x1000 in 64-bit code.
    private func opsOf(_ alternative: String, fastForms: Bool) throws -> [Op] {
        let m = try makeMachine(alternative)
        var ops: [Op] = []
        var address: UInt64 = 0x1000
        while address < 0x1000 + UInt64(bytes(alternative).count) {
            let op = m.decodeOne(at: address, mode: .bits64, fastForms: fastForms, direct: true)
            ops.append(op)
            address = op.nextAddress
        }
        return ops
    }

    /// A machine takes the Ops it is given instead of the bytes (here `dec rax` where the bytes
    /// say `inc rax`), on the threaded path and on the reference path, but not once a store has
    /// reached their page, and not without a snapshot baseline (no written-page tracking).
    @Test(arguments: [false, true])
    func givenOpsStandInForTheBytesUntilTheirPageIsWritten(referencePath: Bool) throws {
        // mov dword [rip+0], 0x48c0ff48 (the next four bytes, written again as they are), or a
        // ten-byte NOP; then inc rax; inc rax; hlt.
        let store = "c7 05 00 00 00 00 48 ff c0 48", nop10 = "66 2e 0f 1f 84 00 00 00 00 00"
        let options = RunOptions(referencePath: referencePath)
        func rax(_ code: String, alternative: String, baseline: Bool = true) throws -> UInt64 {
            let m = try makeMachine(code)
            if baseline { _ = m.snapshot() }
            let ops = try opsOf(alternative, fastForms: !referencePath)
            let outcome = ops.withUnsafeBufferPointer { ops in
                m.setPredecoded(ops, mode: .bits64)
                defer { m.clearPredecoded() }
                return m.run(options)
            }
            #expect(outcome.reason == .hlt)
            return m.state[.rax]
        }
        // The given Ops run: two DECs.
        #expect(try rax("\(nop10) 48 ff c0 48 ff c0 f4", alternative: "\(nop10) 48 ff c8 48 ff c8 f4") == UInt64.max - 1)
        // A store into the code (of the bytes it holds): from then on the bytes run.
        #expect(try rax("\(store) 48 ff c0 48 ff c0 f4", alternative: "\(store) 48 ff c8 48 ff c8 f4") == 2)
        // Without a baseline a store would go unseen, so the Ops are not taken at all.
        #expect(try rax("\(nop10) 48 ff c0 48 ff c0 f4", alternative: "\(nop10) 48 ff c8 48 ff c8 f4", baseline: false) == 2)
    }
}
