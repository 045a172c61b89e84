import Foundation
import Testing
@testable import RingZero

@Suite struct InterpreterTests {
    /// The bytes Capstone is given are `peek`'s, in place or copied near the end of memory
    /// and past it (all ones), without counting an unbacked read.
    @Test func instructionBytesArePeeksBytes() throws {
        for size: UInt64 in [4096, 20, 14, 1] {
            let memory = try #require(PhysicalMemory(size: size))
            let pattern = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 29 &+ 3) }
            #expect(memory.load(pattern, at: 0))
            for address in [0, size / 2, size &- 16, size &- 15, size &- 14, size &- 1, size, size + 7, UInt64.max - 3] {
                let given = memory.withInstructionBytes(at: address) { Array($0) }
                #expect(given == memory.peek(address, count: 15), "size \(size), at \(address)")
            }
            #expect(memory.unbackedReads == 0)
        }
    }

    /// Reads and writes at memory's last bytes: the common case covers an access only below
    /// `wordLimit` (8 bytes from the end), and the byte-at-a-time path the rest, bytes past
    /// the end reading 0xFF and counted as unbacked, writes there dropped and counted.
    @Test func accessesAtTheEndOfMemoryAreExact() throws {
        for size: UInt64 in [4096, 4099, 5, 8] {
            let memory = try #require(PhysicalMemory(size: size))
            let pattern = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(memory.load(pattern, at: 0))
            for width: UInt8 in [1, 2, 4, 8] {
                for back: UInt64 in 1...9 where back <= size {
                    let address = size - back
                    var expected: UInt64 = 0, unbacked: UInt64 = 0
                    for i in 0..<UInt64(width) {
                        let byte = address + i < size ? UInt64(pattern[Int(address + i)]) : 0xFF
                        if address + i >= size { unbacked += 1 }
                        expected |= byte << (8 * i)
                    }
                    let before = memory.unbackedReads
                    #expect(memory.read(address, width) == expected, "size \(size), width \(width), at \(address)")
                    #expect(memory.unbackedReads - before == unbacked, "size \(size), width \(width), at \(address)")
                }
            }
            // A write over the end keeps the bytes inside and counts the rest.
            let address = size >= 3 ? size - 3 : 0
            let before = memory.unbackedWrites
            memory.write(address, 8, 0x0807_0605_0403_0201)
            let inside = Int(size - address)
            #expect(memory.peek(address, count: inside) == Array([1, 2, 3, 4, 5, 6, 7, 8].prefix(inside)))
            #expect(memory.unbackedWrites - before == UInt64(8 - inside))
        }
    }

    @Test func stopReasons() throws {
        // end: RIP reaches the byte after the blob.
        let (_, end) = try run("90 90")
        #expect(end.reason == .end && end.rip == 0x1002)
        // hlt: RIP after the HLT.
        let (_, hlt) = try run("f4 90")
        #expect(hlt.reason == .hlt && hlt.rip == 0x1001)
        // instruction-limit on a tight loop (jmp $).
        let (m, limit) = try run("eb fe", options: RunOptions(maxInstructions: 1000))
        #expect(limit.reason == .instructionLimit && m.instructionCount == 1000)
        // cycle-limit.
        // cycle-limit: the run stops at the first instruction boundary where the count has
        // reached the limit; each JMP costs a taken branch.
        let (c, cycles) = try run("eb fe", options: RunOptions(maxCycles: 77))
        let taken = UInt64(c.costs.cost(.branchTaken))
        let jumps = (77 + taken - 1) / taken
        #expect(cycles.reason == .cycleLimit && c.instructionCount == jumps && c.cycleCount == jumps * taken)
        // unsupported: Capstone knows it, RingZero does not implement it.
        let (u, unsupported) = try run("90 0f a8")
        #expect(unsupported.reason == .unsupported && unsupported.rip == 0x1001)
        #expect(unsupported.instruction == "push gs" && u.instructionCount == 1)
        // Bytes that are not an instruction: #UD.
        let (_, ud) = try run("06")
        #expect(ud.reason == .fault && ud.fault?.vector == .UD && ud.fault?.instruction == nil)
    }

    @Test func faultsArePreciseAndContinueResumes() throws {
        // push rax with RSP non-canonical: #SS(0), RSP and RIP unchanged.
        let (m, o) = try run("48 ff c0 50") { $0.state[.rsp] = 0x0000_8000_0000_0008 }
        #expect(o.fault?.vector == .SS && o.fault?.rip == 0x1003)
        #expect(m.state.rip == 0x1003 && m.state[.rsp] == 0x0000_8000_0000_0008 && m.state[.rax] == 1)
        // --on-fault continue: ud2, int3, then the rest runs.
        let (n, p) = try run("0f 0b cc 48 ff c0", options: RunOptions(onFault: .continue))
        #expect(p.reason == .end && p.faults.map(\.vector) == [.UD, .BP] && n.state[.rax] == 1)
        #expect(p.faults.map(\.rip) == [0x1000, 0x1002])
    }

    @Test func faultsCountAgainstTheInstructionLimit() throws {
        // Jump into unbacked memory: every byte there reads FFh and raises #UD. Under
        // --on-fault continue the run must still end.
        let (m, o) = try run("48 b8 00 00 00 40 00 00 00 00 ff e0", options: RunOptions(maxInstructions: 300, onFault: .continue))
        #expect(o.reason == .instructionLimit)
        #expect(UInt64(o.faults.count) + m.instructionCount == 300)
    }

    @Test func repIterationsAndFaultsShareTheInstructionLimit() throws {
        // ud2 (a fault), then rep stosb with RCX = 100 under a limit of 10: one fault plus the
        // REP's iterations reach 10 after 9 iterations, leaving RCX = 91 and RIP on the REP.
        let (m, o) = try run("0f 0b f3 aa", options: RunOptions(maxInstructions: 10, onFault: .continue)) { m in
            m.state[.rdi] = 0x4000
            m.state[.rcx] = 100
        }
        #expect(o.reason == .instructionLimit && o.faults.count == 1)
        #expect(m.state.rip == 0x1002 && m.state[.rcx] == 91)
    }

    @Test func selfModifyingCodeIsSeen() throws {
        // mov byte [rip+1], 0x90 overwrites the next instruction (int3, CC) with a NOP; the
        // rewritten byte must execute, not the cached int3.
        let (m, o) = try run("c6 05 00 00 00 00 90 cc 90")
        // The store goes to 0x1007: rip after the mov is 0x1007, disp 0.
        #expect(o.reason == .end && o.faults.isEmpty && m.instructionCount == 3)
    }

    /// A loop that stores into its own page on every turn (a counter kept beside the code, as
    /// boot code keeps its variables) drops the page's blocks each time; after
    /// `CodeRewrites.threshold` times the page runs uncached, one instruction decoded afresh
    /// at a time, with every result and count the reference path gives; a restore caches
    /// every page again.
    @Test func codeThatKeepsRewritingItsPageRunsUncached() throws {
        // mov ecx, 1000; l: inc dword [rip+counter]; dec ecx; jnz l; hlt; counter: dd 0
        let code = "b9 e8 03 00 00 ff 05 05 00 00 00 ff c9 75 f6 f4 00 00 00 00"
        let (fast, a) = try run(code)
        let (reference, b) = try run(code, options: RunOptions(referencePath: true))
        #expect(a == b && a.reason == .hlt)
        #expect(fast.state == reference.state && fast.instructionCount == reference.instructionCount
                && fast.cycleCount == reference.cycleCount)
        for form in 0..<fast.costs.names.count { #expect(fast.retiredByForm[form] == reference.retiredByForm[form]) }
        #expect(fast.memory.peek(0x1010, count: 4) == [0xE8, 0x03, 0, 0])
        #expect(fast.core.pointee.codeRewrites.runsUncached(0x1000))
        // The same loop run once more from a snapshot: cached again at the start.
        let machine = try makeMachine(code)
        let start = machine.snapshot()
        _ = machine.run()
        #expect(machine.core.pointee.codeRewrites.runsUncached(0x1000))
        try machine.restore(start)
        #expect(!machine.core.pointee.codeRewrites.runsUncached(0x1000))
        #expect(machine.run() == a && machine.state == fast.state)
    }

    /// Stores into a page's bytes the Op cache did not decode (a variable in another 64-byte
    /// chunk of the code's page) leave its blocks cached; a store into a chunk holding decoded
    /// bytes, even one far down the running block, is seen.
    @Test func storesBesideCodeLeaveItCached() throws {
        // mov ecx, 1000000; l: inc dword [rip+counter]; dec ecx; jnz l; hlt; .balign 64; counter: dd 0
        let besides = "b9 40 42 0f 00 ff 05 35 00 00 00 ff c9 75 f6 f4 66 66 2e 0f 1f 84 00 00 00 00 00 66 66 2e 0f 1f 84 00 00 00 00 00 66 66 2e 0f 1f 84 00 00 00 00 00 66 66 2e 0f 1f 84 00 00 00 00 00 0f 1f 40 00 00 00 00 00"
        let (fast, a) = try run(besides)
        let (reference, b) = try run(besides, options: RunOptions(referencePath: true))
        #expect(a == b && a.reason == .hlt && fast.state == reference.state && fast.cycleCount == reference.cycleCount)
        #expect(fast.memory.peek(0x1040, count: 4) == [0x40, 0x42, 0x0F, 0])
        #expect(!fast.core.pointee.codeRewrites.runsUncached(0x1000))
        // mov byte [rip+70], 0x90 over the int3 after 70 NOPs: bytes 77, the block's second chunk.
        let far = "c6 05 46 00 00 00 90 " + String(repeating: "90 ", count: 70) + "cc 90"
        let (m, o) = try run(far)
        #expect(o.reason == .end && o.faults.isEmpty && m.instructionCount == 73)
        #expect(PhysicalMemory.chunks(0, 0) == 1 && PhysicalMemory.chunks(63, 64) == 0b11)
        #expect(PhysicalMemory.chunks(0, 4095) == .max && PhysicalMemory.chunks(4095, 4095) == 1 << 63)
    }

    @Test func referencePathMatchesFastPath() throws {
        let code = "48 c7 c1 10 00 00 00 48 01 c8 48 ff c9 75 f8 f4"
        let (fast, a) = try run(code)
        let (reference, b) = try run(code, options: RunOptions(referencePath: true))
        #expect(a == b)
        #expect(fast.state == reference.state && fast.cycleCount == reference.cycleCount && fast.instructionCount == reference.instructionCount)
        #expect(fast.state[.rax] == 136)
    }

    /// The threaded loop counts a block when it enters it and takes back what did not retire
    /// when it leaves early; readers of the counters mid-block are told what was counted
    /// ahead. Each program here leaves blocks early, and the reference path (one instruction
    /// at a time, counted after each) must agree on every counter, by form too.
    @Test func blocksLeftEarlyCountOnlyWhatRetired() throws {
        let programs = [
            // A #GP mid-block five times (MOV to CR4 clearing CR4.PAE in IA-32e mode), with an
            // RDTSC after it in the same block: mov ecx, 5; l: mov cr4, rbx; inc rbx; rdtsc;
            // add rdi, rax; dec ecx; jnz l; hlt.
            "b9 05 00 00 00 0f 22 e3 48 ff c3 0f 31 48 01 c7 ff c9 75 f1 f4",
            // A store into the block's own code mid-block, then HLT.
            "48 ff c0 c6 05 01 00 00 00 90 48 ff c0 cc 48 ff c0 f4",
            // RDMSR of IA32_TIME_STAMP_COUNTER between fast forms: mov ecx, 0x10; inc rax; rdmsr; inc rbx; hlt.
            "b9 10 00 00 00 48 ff c0 0f 32 48 ff c3 f4",
        ]
        for code in programs {
            let (fast, a) = try run(code, options: RunOptions(onFault: .continue))
            let (reference, b) = try run(code, options: RunOptions(onFault: .continue, referencePath: true))
            #expect(a == b, "\(code)")
            #expect(fast.state == reference.state, "\(code)")
            #expect(fast.instructionCount == reference.instructionCount && fast.cycleCount == reference.cycleCount, "\(code)")
            for form in 0..<fast.costs.names.count {
                #expect(fast.retiredByForm[form] == reference.retiredByForm[form], "\(code): \(fast.costs.names[form])")
            }
        }
        // The first program: five faults, and everything else retired.
        let (m, o) = try run(programs[0], options: RunOptions(onFault: .continue))
        #expect(o.reason == .hlt && o.faults.count == 5 && m.state[.rbx] == 5 && m.instructionCount == 1 + 5 * 5 + 1)
    }

    /// A block that loops to itself is run again by its own Jcc while the limits allow; the
    /// limits must still stop it at the exact instruction and cycle, as one instruction at a
    /// time would. Loop: mov ecx, 1000; l: rdtsc; add rdi, rax; inc rbx; dec ecx; jnz l; hlt.
    @Test func selfLoopsStopAtTheLimitsExactly() throws {
        let code = "b9 e8 03 00 00 0f 31 48 01 c7 48 ff c3 ff c9 75 f4 f4"
        var limits = [RunOptions()]
        for n: UInt64 in [1, 2, 6, 7, 17, 100, 777, 4001, 5001, 5002] { limits.append(RunOptions(maxInstructions: n)) }
        for c: UInt64 in [1, 50, 999, 12_345, 77_777] { limits.append(RunOptions(maxCycles: c)) }
        for options in limits {
            var reference = options
            reference.referencePath = true
            let (fast, a) = try run(code, options: options)
            let (slow, b) = try run(code, options: reference)
            #expect(a == b, "\(options)")
            #expect(fast.state == slow.state && fast.instructionCount == slow.instructionCount
                    && fast.cycleCount == slow.cycleCount, "\(options)")
            for form in 0..<fast.costs.names.count {
                #expect(fast.retiredByForm[form] == slow.retiredByForm[form], "\(options): \(fast.costs.names[form])")
            }
        }
        let (m, o) = try run(code)
        #expect(o.reason == .hlt && m.state[.rbx] == 1000 && m.instructionCount == 1 + 5 * 1000 + 1)
    }

    /// The threaded handlers of the register-only instructions (MOV CR, CLTS, LMSW, RDMSR,
    /// WRMSR, VMXON, VMXOFF) leave RIP alone; the loop must store it where a block ends on
    /// one: at the 64-Op block limit, at the end address, and before chaining on.
    @Test func blocksEndingOnRegisterOnlyInstructionsGoOnFromTheNext() throws {
        // 70 x mov rax, cr4 (two blocks, the first cut at 64 Ops), then mov cr4, rax at the
        // blob's end; and 65 x clts, then rdmsr of IA32_SYSENTER_CS, then hlt.
        let programs = [String(repeating: "0f 20 e0 ", count: 70) + "0f 22 e0",
                        "b9 74 01 00 00 " + String(repeating: "0f 06 ", count: 65) + "0f 32 f4"]
        for code in programs {
            let options = RunOptions(maxInstructions: 10_000)
            let (fast, a) = try run(code, options: options)
            let (slow, b) = try run(code, options: RunOptions(maxInstructions: 10_000, referencePath: true))
            #expect(a == b && fast.state == slow.state && fast.instructionCount == slow.instructionCount
                    && fast.cycleCount == slow.cycleCount)
        }
        let (m, o) = try run(programs[0], options: RunOptions(maxInstructions: 10_000))
        #expect(o.reason == .end && o.rip == 0x1000 + 71 * 3 && m.instructionCount == 71)
        let (n, p) = try run(programs[1], options: RunOptions(maxInstructions: 10_000))
        #expect(p.reason == .hlt && n.instructionCount == 68 && n.state.rip == 0x1000 + 5 + 130 + 3)
    }

    /// A cached Op records where it sits in its block (what follows it there); that is not part
    /// of the instruction, so it equals the same instruction decoded afresh.
    @Test func cachedOpsEqualFreshDecodes() throws {
        let m = try makeMachine("48 ff c0 48 ff c3 0f 32 f4")
        let block = m.decodeBlock(at: 0x1000, mode: .bits64)
        #expect(block.count == 4 && m.cache.base[block.start].restCount == 3)
        var address: UInt64 = 0x1000
        for i in 0..<block.count {
            let cached = m.cache.base[block.start + i]
            #expect(cached == m.decodeOne(at: address, mode: .bits64, fastForms: true))
            address = cached.nextAddress
        }
    }

    /// A debug build compiles the threaded handlers' calls to the next Op's handler as calls,
    /// not jumps, so a block that loops to itself nests a frame per Op it runs before returning
    /// to the loop; `SelfLoop` bounds that to 128 Ops. A 62-instruction loop body run on a
    /// thread with a small stack must finish (without the bound it nested 17 x 62 Ops).
    @Test func longSelfLoopsRunOnASmallStack() throws {
        // mov ecx, 300; l: 60 x inc eax; dec ecx; jnz l; hlt
        let code = "b9 2c 01 00 00 " + String(repeating: "ff c0 ", count: 60) + "ff c9 75 84 f4"
        final class Outcome: @unchecked Sendable { var rax: UInt64 = 0; var reason: StopReason?; var count: UInt64 = 0 }
        let outcome = Outcome()
        let m = try makeMachine(code)
        nonisolated(unsafe) let machine = m
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            let o = machine.run()
            outcome.reason = o.reason
            outcome.rax = machine.state[.rax]
            outcome.count = machine.instructionCount
            done.signal()
        }
        thread.stackSize = 256 * 1024
        thread.start()
        done.wait()
        #expect(outcome.reason == .hlt && outcome.rax == 300 * 60 && outcome.count == 1 + 300 * 62 + 1)
    }

    @Test func memoryOutsideGuestMemoryReadsOnes() throws {
        // mov rax, [rbx] beyond memory: all-ones; mov [rbx], rax: dropped; both counted.
        let (m, _) = try run("48 8b 03 48 89 03") { $0.state[.rbx] = 0x2000_0000 }
        #expect(m.state[.rax] == .max && m.memory.unbackedReads == 8 && m.memory.unbackedWrites == 8)
    }

    @Test func addressingForms() throws {
        // mov rax, [rbx + rcx*4 + 0x10]
        let (m, _) = try run("48 8b 44 8b 10") { m in
            m.state[.rbx] = 0x2000
            m.state[.rcx] = 1
            m.load(bytes("8877665544332211"), at: 0x2014)
        }
        #expect(m.state[.rax] == 0x1122_3344_5566_7788)
        // RIP-relative: mov eax, [rip + 2] reads the two bytes after the instruction + 2.
        let (r, _) = try run("8b 05 02 00 00 00 f4 f4 ef be ad de")
        #expect(r.state[.rax] == 0xDEAD_BEEF)
    }

    @Test func stackAndCalls() throws {
        // call +1; (skipped hlt) ; pop rbx -> return address 0x1005.
        let (m, o) = try run("e8 01 00 00 00 f4 5b")
        #expect(o.reason == .end && m.state[.rbx] == 0x1005 && m.state[.rsp] == 16 << 20)
        // pushfq; popfq at CPL 3 cannot change IOPL or IF.
        let (n, _) = try run("9d", state: #"{"cpl": 3}"#) { m in
            m.state[.rsp] = 0x8000
            m.load(bytes("0232000000000000"), at: 0x8000)
        }
        #expect(n.state.rflags == 0x2)
        // rep stosb fills RCX bytes and leaves RCX = 0.
        let (s, _) = try run("f3 aa") { m in
            m.state[.rdi] = 0x4000
            m.state[.rcx] = 16
            m.state[.rax] = 0xAB
        }
        #expect(s.state[.rcx] == 0 && s.state[.rdi] == 0x4010 && s.memory.peek(0x400F, count: 2) == [0xAB, 0])
    }

    @Test func cpuidAndRdtsc() throws {
        let (m, _) = try run("0f a2") { $0.state[.rax] = 0x8000_0008 }
        #expect(m.state[.rax] & 0xFF == 39)
        let (a, _) = try run("0f a2", profile: .atom330) { $0.state[.rax] = 1 }
        #expect(a.state[.rcx] & (1 << 5) == 0)
        // Three NOPs then RDTSC: the TSC equals the cycles retired before it.
        let (t, _) = try run("90 90 90 0f 31")
        #expect(t.state[.rax] == 3 && t.state[.rdx] == 0)
        // CR4.TSD at CPL 3: #GP(0).
        let (_, o) = try run("0f 31", state: #"{"cpl": 3, "registers": {"cr4": "0x624"}}"#)
        #expect(o.fault?.vector == .GP)
    }

    /// A REP string instruction ends its block, so the cycle limit is checked right after it:
    /// the run stops at the first boundary where the count has reached the limit, not at the
    /// end of a block whose REP ran longer than its cost said.
    @Test func theCycleLimitHoldsAfterARepInstruction() throws {
        // mov rcx, 100; mov rdi, 0x2000; rep stosb; nop; nop; nop
        let code = "48 c7 c1 64 00 00 00 48 c7 c7 00 20 00 00 f3 aa 90 90 90"
        let probe = try makeMachine(code)
        let alu = UInt64(probe.costs.cost(.alu)), string = UInt64(probe.costs.cost(.stringIteration))
        // The limit falls just after the REP's last iteration.
        let limit = 2 * alu + 100 * string
        let (m, o) = try run(code, options: RunOptions(maxCycles: limit))
        #expect(o.reason == .cycleLimit && m.state.rip == 0x1010 && m.state[.rcx] == 0)
        #expect(m.cycleCount == limit && m.instructionCount == 3)
    }
}
