import Foundation
import Testing
import RingZero

/// The public library API as a user of the package sees it (no `@testable`): hooks, snapshots,
/// single-stepping and machines on several threads.
@Suite struct LibraryTests {
    /// A machine running `hex` in 64-bit mode from the i7-5600u profile, through the public API.
    func machine(_ hex: String, profile: CPUProfile = .i7_5600u, state: String? = nil) throws -> Machine {
        let json = try state.map { try JSONValue.parse($0) }
        return try MachineSetup(profile: profile, state: json).makeMachine(blob: bytes(hex))
    }

    static let vmxEnable = [UInt8](try! Data(contentsOf: packageRoot.appendingPathComponent("Fixtures/examples/vmx-enable.bin")))

    @Test func beforeInstructionHookSeesEveryInstructionAndCanStop() throws {
        // mov eax, 1; add eax, 2; hlt
        let m = try machine("b8 01 00 00 00 83 c0 02 f4")
        var seen: [UInt64] = []
        m.onInstruction { machine, op in
            seen.append(op.address)
            return machine.disassemble(at: op.address)?.text == "hlt" ? .stop : .proceed
        }
        let outcome = m.run()
        #expect(seen == [0x1000, 0x1005, 0x1008])
        // Stopped before the HLT executed: RIP on it, two instructions retired.
        #expect(outcome.reason == .hook && outcome.rip == 0x1008 && m.instructionCount == 2 && m.state[.rax] == 3)
    }

    @Test func exceptionHookSeesFaultsAndCanEndAContinueRun() throws {
        // Two #UD (UD2) in a row, then HLT, under onFault: continue.
        let m = try machine("0f 0b 0f 0b f4")
        var vectors: [ExceptionVector] = []
        m.onException { _, fault in
            vectors.append(fault.vector)
            return fault.rip == 0x1002 ? .stop : .proceed
        }
        let outcome = m.run(RunOptions(onFault: .continue))
        #expect(vectors == [.UD, .UD])
        #expect(outcome.reason == .hook && outcome.fault?.rip == 0x1002 && outcome.faults.count == 1)
    }

    @Test func msrHooksAnswerForAnyMSR() throws {
        // rdmsr 0x1234 (absent); wrmsr 0x1234; rdmsr IA32_SYSENTER_CS (0x174); hlt
        let code = "b9 34 12 00 00 0f 32 0f 30 b9 74 01 00 00 0f 32 f4"
        let plain = try machine(code)
        #expect(plain.run().fault?.vector == .GP)

        let m = try machine(code)
        var writes: [(UInt32, UInt64)] = []
        m.onRDMSR { _, index in index == 0x1234 ? .value(0xAABB_CCDD_1122_3344) : .normal }
        m.onWRMSR { _, index, value in
            writes.append((index, value))
            return index == 0x1234 ? .ignore : .normal
        }
        let o = m.run()
        #expect(o.reason == .hlt)
        #expect(writes.count == 1 && writes[0].0 == 0x1234 && writes[0].1 == 0xAABB_CCDD_1122_3344)
        // The last RDMSR went to the profile (SYSENTER_CS resets to 0).
        #expect(m.state[.rax] == 0 && m.state[.rdx] == 0)
        // A hook can also force #GP(0) on an MSR the profile has.
        let g = try machine("b9 74 01 00 00 0f 32")
        g.onRDMSR { _, _ in .generalProtection }
        #expect(g.run().fault?.vector == .GP)
        // Privilege checks come first: at CPL 3 the hook is not consulted.
        let u = try machine("b9 34 12 00 00 0f 32", state: #"{"cpl": 3}"#)
        var asked = false
        u.onRDMSR { _, _ in asked = true; return .value(0) }
        #expect(u.run().fault?.vector == .GP && !asked)
    }

    @Test func controlRegisterAndTransitionHooks() throws {
        let m = try MachineSetup(profile: .i7_5600u).makeMachine(blob: Self.vmxEnable)
        var writes: [ControlRegisterWrite] = []
        var transitions: [OperationTransition] = []
        m.onControlRegisterWrite { _, w in writes.append(w); return .proceed }
        m.onTransition { _, t in transitions.append(t); return .proceed }
        #expect(m.run().reason == .hlt)
        #expect(writes.map(\.register) == [0, 4])
        #expect(writes.last.map { $0.newValue & 0x2000 != 0 && $0.oldValue & 0x2000 == 0 } == true)
        #expect(transitions == [.vmxOn(vmxonPointer: 0x3000), .vmxOff])
        // Stopping from a transition hook ends the run right after VMXON.
        let s = try MachineSetup(profile: .i7_5600u).makeMachine(blob: Self.vmxEnable)
        s.onTransition { _, _ in .stop }
        let o = s.run()
        #expect(o.reason == .hook && s.state.vmx.operation == .root)
    }

    @Test func memoryHooksWatchOnlyTheirRange() throws {
        // mov [0x2000], rax; mov rbx, [0x2008]; mov [0x3000], rax; push rax; hlt
        let m = try machine("48 89 04 25 00 20 00 00 48 8b 1c 25 08 20 00 00 48 89 04 25 00 30 00 00 50 f4",
                            state: #"{"registers": {"rax": "0x55", "rsp": "0x2018"}}"#)
        var accesses: [MemoryAccess] = []
        m.onMemoryAccess(in: 0x2000 ... 0x2fff) { _, a in accesses.append(a); return .proceed }
        #expect(m.run().reason == .hlt)
        #expect(accesses == [
            MemoryAccess(address: 0x2000, size: 8, isWrite: true, value: 0x55),
            MemoryAccess(address: 0x2008, size: 8, isWrite: false, value: 0),
            MemoryAccess(address: 0x2010, size: 8, isWrite: true, value: 0x55),
        ])
        m.removeAllHooks()
    }

    @Test func restoredMachineReportsLikeAFreshOne() throws {
        for profile in CPUProfile.builtins {
            let fresh = try MachineSetup(profile: profile).makeMachine(blob: Self.vmxEnable)
            let expected = Report(machine: fresh, outcome: fresh.run()).json

            let m = try MachineSetup(profile: profile).makeMachine(blob: Self.vmxEnable)
            let start = m.snapshot()
            for _ in 0..<3 {
                let report = Report(machine: m, outcome: m.run()).json
                #expect(report == expected, "\(profile.name)")
                try m.restore(start)
                #expect(m.state == start.state && m.instructionCount == 0 && m.cycleCount == 0)
            }
        }
    }

    @Test func restoreUndoesMemoryWritesAndSelfModifyingCode() throws {
        // Writes the byte at 0x1010 (an INC EAX's ModRM... here: patches the NOP at 0x1011 into HLT)
        // then runs into it. mov byte [0x1011], 0xf4 (c6 04 25 11 10 00 00 f4); 9 NOPs; nop at 0x1011.
        let code = "c6 04 25 11 10 00 00 f4 " + String(repeating: "90 ", count: 9) + "90 90"
        let m = try machine(code)
        let start = m.snapshot()
        let first = m.run()
        #expect(first.reason == .hlt && first.rip == 0x1012)
        try m.restore(start)
        // The patched byte is back: a run that cannot patch (the hook stops before the store)...
        var bytesAfterRestore: UInt8 = 0
        m.onInstruction { machine, _ in
            bytesAfterRestore = machine.memory.peek(0x1011, count: 1)[0]
            return .stop
        }
        _ = m.run()
        #expect(bytesAfterRestore == 0x90)
        m.removeAllHooks()
        // Blocks decoded from the patched page are gone too: from 0x1008, past the store, the
        // restored NOPs run to the end instead of the stale HLT.
        try m.restore(start)
        _ = m.run()  // patches 0x1011 again and decodes 0x1008.. with the HLT
        try m.restore(start)
        m.state.rip = 0x1008
        let skip = m.run()
        #expect(skip.reason == .end && skip.rip == 0x1013)
    }

    @Test func restoreOfAnOlderOrForeignSnapshotIsComplete() throws {
        let m = try machine("48 89 04 25 00 20 00 00 f4", state: #"{"registers": {"rax": "0x77"}}"#)
        let older = m.snapshot()
        _ = m.run()
        _ = m.snapshot()  // a newer baseline
        try m.restore(older)
        #expect(m.memory.peek(0x2000, count: 1) == [0])
        #expect(m.state.rip == 0x1000)
        // Another machine with the same profile and memory size can take it too.
        let other = try machine("90")
        try other.restore(older)
        #expect(other.run().reason == .hlt && other.memory.peek(0x2000, count: 1) == [0x77])
        // A machine with another profile cannot, even one with the same MSR set and memory.
        let atom = try machine("90", profile: .atom330)
        #expect(throws: MachineError.self) { try atom.restore(older) }
        let skylake = try machine("90", profile: .i7_6700k)
        #expect(throws: MachineError.self) { try skylake.restore(older) }
    }

    @Test func restoreClearsBytesLoadedIntoZeroPagesAndEverythingStoredThere() throws {
        // A restore clears only what `load` wrote into a page that was zero, unless the guest
        // also stored into the page: then the whole page. Every byte must come back either way.
        // mov qword [0x5800], rax; hlt, with RAX = 0x77 (state file).
        let m = try machine("48 89 04 25 00 58 00 00 f4", state: #"{"registers": {"rax": "0x77"}}"#)
        let start = m.snapshot()
        func zero(_ address: UInt64, _ count: Int) -> Bool { m.memory.peek(address, count: count).allSatisfy { $0 == 0 } }

        // Loads alone: two in one page (the extent grown downwards), one across a page end.
        #expect(m.load([4, 5], at: 0x5F00) && m.load([1, 2, 3], at: 0x5100) && m.load([6, 7, 8, 9], at: 0x6FFE))
        #expect(m.memory.peek(0x5F00, count: 2) == [4, 5] && m.memory.peek(0x6FFE, count: 4) == [6, 7, 8, 9])
        try m.restore(start)
        #expect(zero(0x5000, 0x2000) && zero(0x7000, 2))

        // A load, then a store by the guest into the same page.
        #expect(m.load([1, 2, 3], at: 0x5100))
        #expect(m.run().reason == .hlt && m.memory.peek(0x5800, count: 1) == [0x77])
        try m.restore(start)
        #expect(zero(0x5000, 0x1000))

        // A snapshot taken after a load keeps it; a later load into the page goes again.
        #expect(m.load([1, 2, 3], at: 0x5100))
        let loaded = m.snapshot()
        #expect(m.load([9], at: 0x5200))
        try m.restore(loaded)
        #expect(m.memory.peek(0x5100, count: 3) == [1, 2, 3] && zero(0x5200, 1))
        try m.restore(start)
        #expect(zero(0x5000, 0x1000))

        // A snapshot other than the latest: the loaded bytes go too.
        let newer = m.snapshot()
        #expect(m.load([1, 2, 3], at: 0x5100))
        try m.restore(start)
        #expect(zero(0x5000, 0x1000))
        try m.restore(newer)

        // Code loaded into a zero page, run, replaced by another load and run again, then
        // restored: each run sees the bytes loaded last, and the page is zero afterwards.
        // mov eax, 1; hlt, then mov eax, 2; hlt.
        m.state.rip = 0x9000
        #expect(m.load([0xB8, 1, 0, 0, 0, 0xF4], at: 0x9000) && m.run().reason == .hlt && m.state[.rax] == 1)
        m.state.rip = 0x9000
        #expect(m.load([0xB8, 2, 0, 0, 0, 0xF4], at: 0x9000) && m.run().reason == .hlt && m.state[.rax] == 2)
        try m.restore(newer)
        #expect(zero(0x9000, 0x1000))
        m.state.rip = 0x9000
        m.endAddress = 0x9004
        _ = m.run()
        #expect(m.state[.rax] == 0x77, "zero bytes (add [rax], al) run, not the stale MOV")
    }

    @Test func aNewEndAddressAppliesToCachedCode() throws {
        // Nine NOPs, run once (so their block is cached), then again with the end moved to 0x1004.
        let m = try machine(String(repeating: "90 ", count: 9))
        let start = m.snapshot()
        #expect(m.run().reason == .end && m.state.rip == 0x1009)
        try m.restore(start)
        m.endAddress = 0x1004
        var o = m.run()
        #expect(o.reason == .end && o.rip == 0x1004 && m.instructionCount == 4)
        // And back: the blocks cut at 0x1004 run on to the later end.
        try m.restore(start)
        m.endAddress = 0x1009
        o = m.run()
        #expect(o.reason == .end && o.rip == 0x1009 && m.instructionCount == 9)
    }

    @Test func anInstructionWrappingPastTheTopOfTheAddressSpaceSeesStoresToPageZero() throws {
        // The last byte of the 64-bit address space is unbacked (reads FFh); FF C0 is
        // `inc eax`, its second byte at address 0. After the byte at 0 changes to C8
        // (`dec eax`), the cached instruction must be dropped and decoded again.
        let m = try machine("90")
        m.load([0xC0], at: 0)
        m.state.rip = .max
        m.endAddress = 1
        var o = m.run()
        #expect(o.reason == .end && m.state[.rax] == 1)
        m.load([0xC8], at: 0)
        m.state.rip = .max
        o = m.run()
        #expect(o.reason == .end && m.state[.rax] == 0, "the stale `inc eax` ran again")
    }

    @Test func bytesRejectedForWhatFollowsOnTheNextPageAreDecodedAgainWhenThatChanges() throws {
        // 0F at 0x1FFF and 04 at 0x2000: no instruction, a one-byte #UD Op on page 1, judged
        // with the bytes of page 2. With A2 at 0x2000 the two bytes are CPUID.
        let m = try machine("90")
        m.load([0x0F], at: 0x1FFF)
        m.load([0x04], at: 0x2000)
        m.endAddress = 0x2001
        m.state.rip = 0x1FFF
        var o = m.run()
        #expect(o.reason == .fault && o.fault?.vector == .UD && o.rip == 0x1FFF)
        m.load([0xA2], at: 0x2000)
        m.state.rip = 0x1FFF
        m.state[.rax] = 0
        o = m.run()
        #expect(o.reason == .end && m.state[.rax] != 0, "the stale #UD was raised again")
    }

    @Test func stepExecutesOneInstruction() throws {
        let m = try machine("b8 01 00 00 00 83 c0 02 f4")
        #expect(m.step().reason == .instructionLimit && m.state[.rax] == 1 && m.state.rip == 0x1005)
        #expect(m.step().reason == .instructionLimit && m.state[.rax] == 3)
        #expect(m.step().reason == .hlt)
    }

    @Test func machinesRunConcurrently() async throws {
        let expected = try CPUProfile.builtins.map { profile in
            let m = try MachineSetup(profile: profile).makeMachine(blob: Self.vmxEnable)
            return Report(machine: m, outcome: m.run()).jsonText
        }
        // Eight machines per profile at once, each on its own task, each with its own snapshots.
        let results = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for i in 0..<24 {
                group.addTask {
                    let profile = CPUProfile.builtins[i % 3]
                    let m = try MachineSetup(profile: profile).makeMachine(blob: Self.vmxEnable)
                    let start = m.snapshot()
                    var text = ""
                    for _ in 0..<20 {
                        try m.restore(start)
                        text = Report(machine: m, outcome: m.run()).jsonText
                    }
                    return (i % 3, text)
                }
            }
            var all: [(Int, String)] = []
            for try await r in group { all.append(r) }
            return all
        }
        #expect(results.count == 24)
        for (profile, text) in results { #expect(text == expected[profile]) }
    }
}
