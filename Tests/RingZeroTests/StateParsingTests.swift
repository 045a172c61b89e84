import Testing
@testable import RingZero

/// The state file's hex byte strings and register names, which have fast paths of their own.
@Suite struct StateParsingTests {
    @Test func hexBytesSkipWhitespaceAndTakeBothCases() throws {
        #expect(try MachineSetup.hexBytes("0f 01\tC4\n48 ff\r\nc8", "m") == [0x0F, 0x01, 0xC4, 0x48, 0xFF, 0xC8])
        #expect(try MachineSetup.hexBytes("", "m") == [])
        // A digit pair may be split by whitespace, as before.
        #expect(try MachineSetup.hexBytes("0 f", "m") == [0x0F])
        // Unicode whitespace (a no-break space) is skipped too.
        #expect(try MachineSetup.hexBytes("0f\u{00A0}01", "m") == [0x0F, 0x01])
    }

    /// A key repeated in an object is an error, however many keys lie between (the check is
    /// a set of the keys seen, not a search of them), and the message names the key.
    @Test func duplicateKeysAreFoundAnywhere() {
        let keys = (0..<1000).map { "\"k\($0)\": \($0)" }.joined(separator: ", ")
        #expect(throws: (any Error).self) { try JSONValue.parse("{\(keys), \"k0\": 1}") }
        do {
            _ = try JSONValue.parse("{\(keys), \"k500\": 1}")
        } catch {
            #expect("\(error)".contains("duplicate key \"k500\""))
        }
        #expect((try? JSONValue.parse("{\(keys)}")) != nil)
    }

    @Test func malformedHexIsAnErrorNamingThePath() {
        for bad in ["0", "0g", "+1", "0x01", "zz", "0f\u{00A0}1", "é0"] {
            do {
                let bytes = try MachineSetup.hexBytes(bad, "memory[0].hex")
                Issue.record("\(bad) parsed as \(bytes)")
            } catch {
                #expect(error.description.hasPrefix("memory[0].hex: "), "\(bad): \(error.description)")
            }
        }
    }

    @Test func registerNamesAreTheAssemblerNames() {
        #expect(GPR.allCases.map(\.name) == ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                             "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"])
        #expect(GPR.allCases.allSatisfy { $0.name == "\($0)" })
    }
}
