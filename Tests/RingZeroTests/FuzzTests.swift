import Foundation
import Testing
@testable import RingZero

/// The fuzzer: deterministic cases, invariants that fire on states that break them, and clean
/// runs of generated cases on every profile.
@Suite struct FuzzTests {
    @Test func theSameSeedGivesTheSameCases() throws {
        let engine = FuzzEngine(profile: .i7_5600u, length: 12)
        for index: UInt64 in [0, 1, 77, 4096] {
            let a = engine.fuzzCase(seed: 42, index: index), b = engine.fuzzCase(seed: 42, index: index)
            #expect(a.blob == b.blob && a.state == b.state && a.mode == b.mode)
            // The length counts instructions, operand loads included (a host case has one).
            let code: CodeMode = a.mode == .long ? .bits64 : (a.mode == .protected || a.mode == .compat ? .bits32 : .bits16)
            let listing = try Decoder().listing(a.blob, at: 0x1000, mode: code)
            #expect(listing.count == (a.hostCheck == nil ? 12 : 1) && listing.allSatisfy { !$0.raisesUD })
        }
        #expect(engine.fuzzCase(seed: 42, index: 1).blob != engine.fuzzCase(seed: 43, index: 1).blob)
    }

    @Test(arguments: CPUProfile.builtins)
    func generatedCasesPassOnEveryProfile(_ profile: CPUProfile) throws {
        let engine = FuzzEngine(profile: profile, length: 16)
        let worker = try engine.makeWorker()
        var outcomes = Set<Int>()
        for index: UInt64 in 0..<400 {
            switch worker.evaluate(engine.fuzzCase(seed: 7, index: index)) {
            case .passed(let outcome): outcomes.insert(outcome)
            case .rejected(let why): Issue.record("case \(index): generated state rejected: \(why)")
            case .violated(let v): Issue.record("case \(index): \(v.invariant.rawValue): \(v.detail)")
            }
        }
        // The cases reach many different outcomes, not one fault over and over.
        #expect(outcomes.count > 50)
    }

    @Test func invariantsFireOnStatesThatBreakThem() throws {
        func check(_ state: String, _ change: (Machine) -> Void = { _ in }) throws -> Invariant? {
            let m = try makeMachine("90", state: state)
            var checker = InvariantChecker(machine: m)
            change(m)
            return checker.check(m, next: nil)?.0
        }
        #expect(try check("{}") == nil)
        #expect(try check(#"{"registers": {"cr4": "0x2620"}, "vmx": {"operation": "root"}}"#) { $0.state.cr4 = 0x620 } == .vmxImpliesVMXE)
        #expect(try check(#"{"registers": {"cr4": "0x2620"}, "vmx": {"operation": "root"}}"#) { $0.state.cr0 &= ~CR0.NE } == .vmxFixedBits)
        #expect(try check(#"{"msrs": {"0x3a": "0x5"}}"#) { $0.setMSR(MSRIndex.IA32_FEATURE_CONTROL, 0x1) } == .lockedFeatureControl)
        #expect(try check("{}") { $0.state.smx.operation = true } == .smxOnlyBySENTER)
        #expect(try check("{}") { $0.state.rflags |= 1 << 3 } == .rflagsReserved)
        #expect(try check("{}") { $0.state.efer &= ~EFER.LMA } == .modeConsistency)
    }

    @Test func aViolationIsMinimizedToWhatShowsIt() throws {
        // A case whose starting state already breaks an invariant (VMX root operation with CR0.NE
        // clear): every instruction can go, and one remains.
        let engine = FuzzEngine(profile: .i7_5600u, length: 6)
        var c = engine.fuzzCase(seed: 3, index: 0)
        c.mode = .long
        c.state = try JSONValue.parse(#"{"mode": "long", "registers": {"cr0": "0x80050013", "cr4": "0x2620"}, "vmx": {"operation": "root"}}"#)
        guard case .violated(let v) = engine.evaluate(c) else {
            Issue.record("the case did not violate")
            return
        }
        #expect(v.invariant == .vmxFixedBits)
        let small = engine.minimize(v)
        #expect(small.invariant == .vmxFixedBits && small.fuzzCase.chunks.count == 1)
    }

    @Test func theHostProcessorAgreesOnIntegerInstructions() throws {
        guard HostCheck.available else { return }
        let engine = FuzzEngine(profile: .i7_5600u)
        let worker = try engine.makeWorker()
        var generator = CaseGenerator(seed: 11, profile: .i7_5600u)
        var operations = Set<HostOperation>()
        for _ in 0..<2000 {
            let c = generator.nextHostCase()
            operations.insert(c.hostCheck!.operation)
            if case .violated(let v) = worker.evaluate(c) { Issue.record("\(v.invariant.rawValue): \(v.detail)") }
        }
        #expect(operations.count == HostOperation.allCases.count)
        // A result the host does not give is reported.
        let check = HostCheck(operation: .add, size: 8, a: 2, b: 3, flags: 0)
        let m = try makeMachine("90", state: #"{"registers": {"rax": "0x6"}}"#)
        #expect(FuzzWorker.disagreement(check, m) != nil)
        m.state[.rax] = 5
        m.state.rflags = RFLAGS.reserved1 | RFLAGS.PF
        #expect(FuzzWorker.disagreement(check, m) == nil)
    }
}

/// The fuzzer's fast path: the same cases as the value API, state applied as the state file
/// would, results compared in full.
@Suite struct FuzzFastPathTests {
    /// Running case i of a seed on the fast path gives the outcome the case value gives through
    /// the full check (state file, Capstone), and a full check on every case finds nothing.
    @Test(arguments: CPUProfile.builtins)
    func theFastPathAgreesWithTheFullCheck(_ profile: CPUProfile) throws {
        var engine = FuzzEngine(profile: profile, length: 12)
        engine.fullCheckInterval = 1
        let worker = try engine.makeWorker()
        let other = try engine.makeWorker()
        for index: UInt64 in 0..<300 {
            let fast = worker.evaluate(seed: 99, index: index)
            let full = other.fullCheck(engine.fuzzCase(seed: 99, index: index))
            switch (fast, full) {
            case (.passed(let a), .passed(let b)): #expect(a == b, "case \(index): outcome classes differ")
            case (.violated(let v), _), (_, .violated(let v)): Issue.record("case \(index): \(v.invariant.rawValue): \(v.detail)")
            case (.rejected(let why), _), (_, .rejected(let why)): Issue.record("case \(index): rejected: \(why)")
            }
        }
    }

    /// The full check compares its runs with `sameResult` and builds reports only to describe a
    /// difference; that is sound only if runs it finds the same always report the same. Here
    /// the plain and reference runs of generated cases, set up from their state files, are
    /// compared both ways, and a fault text changed after the run (reports print it) must be
    /// seen too.
    @Test func runsFoundTheSameReportTheSame() throws {
        let engine = FuzzEngine(profile: .i7_5600u, length: 16)
        let plain = try Machine(profile: .i7_5600u), reference = try Machine(profile: .i7_5600u)
        let pristine = (plain.snapshot(), reference.snapshot())
        var compared = 0
        for index: UInt64 in 0..<250 {
            let c = engine.fuzzCase(seed: 17, index: index)
            let setup = MachineSetup(profile: .i7_5600u, state: c.state)
            try plain.restore(pristine.0)
            try reference.restore(pristine.1)
            for m in [plain, reference] {
                try setup.configure(m, blob: c.blob)
                m.memory.watchWrites()
            }
            let options = RunOptions(maxInstructions: engine.maxInstructions, onFault: .continue)
            var referenceOptions = options
            referenceOptions.referencePath = true
            let a = plain.runInPlace(options), b = reference.runInPlace(referenceOptions)
            let same = FuzzWorker.sameResult(a, plain, b, reference)
            let reports = (Report(machine: plain, outcome: plain.outcome(a)).json,
                           Report(machine: reference, outcome: reference.outcome(b)).json)
            #expect(same, "case \(index): \(FuzzWorker.difference(a, plain, b, reference))")
            if same { #expect(reports.0 == reports.1, "case \(index): the same runs, different reports") }
            if !reference.faultList.pointee.isEmpty {
                var changed = reference.faultList.pointee.record(0)
                changed.instruction = "changed"
                reference.faultList.pointee.replace(at: 0, with: changed)
                #expect(!FuzzWorker.sameResult(a, plain, b, reference), "case \(index): a fault's text")
                compared += 1
            }
        }
        #expect(compared > 50, "too few cases took an exception to test the fault texts")
    }

    /// A batch (generated and built before any case runs) gives each case the result it gets
    /// alone, in order, whatever the stride and count; a full check on every case finds nothing.
    @Test func aBatchGivesEachCaseItsOwnResult() throws {
        var engine = FuzzEngine(profile: .i7_5600u, length: 16)
        engine.fullCheckInterval = 4
        let batched = try engine.makeWorker(), single = try engine.makeWorker()
        for (first, stride, count) in [(UInt64(0), UInt64(1), FuzzWorker.batchSize), (5, 3, 7), (1000, 2, FuzzWorker.batchSize + 5)] {
            var seen: [UInt64] = []
            batched.evaluate(seed: 31, from: first, by: stride, count: count) { index, result in
                seen.append(index)
                switch (result, single.evaluate(seed: 31, index: index)) {
                case (.passed(let a), .passed(let b)): #expect(a == b, "case \(index): outcome classes differ")
                case (.violated(let v), _), (_, .violated(let v)): Issue.record("case \(index): \(v.invariant.rawValue): \(v.detail)")
                case (.rejected(let why), _), (_, .rejected(let why)): Issue.record("case \(index): rejected: \(why)")
                }
            }
            let expected = (0..<min(count, FuzzWorker.batchSize)).map { first + UInt64($0) * stride }
            #expect(seen == expected)
        }
    }

    /// The fuzzer starts every case with no decoded code, so a case runs as its reproducer
    /// does. Here its fast machines keep their Op caches from case to case, as a long-running
    /// program does, over raw cases (random bytes: self-modifying code, jumps anywhere, the top
    /// of the address space). Seed 784 found two stale decodes this way (case 20818 after
    /// 20786, 25809 after 25792): an instruction wrapping past the top of the address space,
    /// and bytes rejected for what followed them on the next page.
    @Test func codeCachedAcrossRawCasesStaysRight() throws {
        let engine = FuzzEngine(profile: .i7_5600u)
        let worker = try engine.makeWorker()
        worker.keepsDecodedCode = true
        for index in Array(0..<UInt64(600)) + [20786, 20818, 25792, 25809] {
            if case .violated(let v) = worker.evaluate(engine.rawCase(seed: 784, index: index, corpus: [])) {
                Issue.record("raw case \(index) of seed 784: \(v.invariant.rawValue): \(v.detail)")
            }
        }
    }

    /// The comparison of the two runs sees the outcome (how it ended, the exceptions taken),
    /// registers, MSRs, counters and guest memory.
    @Test func theComparisonSeesEveryDifference() throws {
        let a = try makeMachine("90 f4"), b = try makeMachine("90 f4")
        // As in the fuzzer, both start from a snapshot: memory is compared over the pages
        // either wrote since.
        _ = a.snapshot()
        _ = b.snapshot()
        let oa = a.runInPlace(RunOptions()), ob = b.runInPlace(RunOptions())
        #expect(FuzzWorker.sameResult(oa, a, ob, b))
        #expect(!FuzzWorker.sameResult(oa, a, .end, b), "how the run ended")
        // The exceptions taken, and the one that ended a run.
        let c = try makeMachine("0f 0b 0f 0b f4"), d = try makeMachine("0f 0b 0f 0b f4")
        for m in [c, d] { _ = m.snapshot() }
        let oc = c.runInPlace(RunOptions(onFault: .continue)), od = d.runInPlace(RunOptions(onFault: .continue))
        #expect(oc == .hlt && c.outcome(oc).faults.count == 2)
        #expect(FuzzWorker.sameResult(oc, c, od, d))
        let taken = d.faultList.pointee.removeLast()
        #expect(!FuzzWorker.sameResult(oc, c, od, d), "one exception fewer")
        d.faultList.pointee.append(FaultRecord(vector: taken.vector, errorCode: taken.errorCode, rip: taken.rip &+ 1, instruction: nil))
        #expect(!FuzzWorker.sameResult(oc, c, od, d), "an exception at another address")
        d.faultList.pointee.replace(at: 1, with: taken)
        #expect(FuzzWorker.sameResult(oc, c, od, d))
        let f = try makeMachine("0f 0b f4"), g = try makeMachine("0f 0b f4")
        for m in [f, g] { _ = m.snapshot() }
        let of = f.runInPlace(RunOptions()), og = g.runInPlace(RunOptions())
        #expect(of == .fault && FuzzWorker.sameResult(of, f, og, g))
        g.core.pointee.lastExit.fault?.errorCode = 1
        #expect(!FuzzWorker.sameResult(of, f, og, g), "the exception that ended the run")
        b.memory.write(0x8000, 1, 7)
        #expect(!FuzzWorker.sameResult(oa, a, ob, b), "a byte of guest memory")
        b.memory.write(0x8000, 1, 0)
        b.state[.r9] = 1
        #expect(!FuzzWorker.sameResult(oa, a, ob, b), "a register")
        b.state[.r9] = 0
        // The states are compared by their bytes first: a difference in any field, the first
        // or the last, or one between them, must still show.
        let changes: [(String, (inout CPUState) -> Void)] = [
            ("RAX", { $0[.rax] = 1 }), ("CS.DPL", { $0.cs.dpl = 3 }), ("SS.B", { $0.ss.d.toggle() }),
            ("VMX error", { $0.vmx.instructionError = 7 }), ("dual monitor", { $0.vmx.dualMonitor.toggle() }),
            ("A20M", { $0.signals.a20m.toggle() }), ("TXT chipset", { $0.txtChipset.toggle() }),
        ]
        for (name, change) in changes {
            let saved = b.state
            change(&b.state)
            #expect(!FuzzWorker.sameResult(oa, a, ob, b), "\(name)")
            b.state = saved
        }
        #expect(FuzzWorker.sameResult(oa, a, ob, b))
        b.setMSR(MSRIndex.IA32_TSC_AUX, 8)
        #expect(!FuzzWorker.sameResult(oa, a, ob, b), "IA32_TSC_AUX")
        b.setMSR(MSRIndex.IA32_TSC_AUX, 0)
        b.setMSR(MSRIndex.IA32_SYSENTER_CS, 8)
        #expect(!FuzzWorker.sameResult(oa, a, ob, b), "an MSR")
        b.setMSR(MSRIndex.IA32_SYSENTER_CS, 0)
        b.retiredByForm[0] &+= 1
        #expect(!FuzzWorker.sameResult(oa, a, ob, b), "a per-form counter")
        b.retiredByForm[0] &-= 1
        let lastForm = b.costs.names.count - 1
        b.extraCyclesByForm[lastForm] &+= 1
        #expect(!FuzzWorker.sameResult(oa, a, ob, b), "the last form's extra cycles")
        b.extraCyclesByForm[lastForm] &-= 1
        #expect(FuzzWorker.sameResult(oa, a, ob, b))
    }
}

/// The Op cache's hash table against Dictionary, through random inserts, removals and clears.
@Suite struct KeyTableTests {
    @Test func itBehavesLikeADictionary() {
        var random = SplitMix64(seed: 0x7AB1E)
        let table = KeyTable<UInt64>(capacity: 4)
        var reference: [UInt64: UInt64] = [:]
        for step in 0..<200_000 {
            // Few distinct keys, clustered, so probe runs collide and removals shift them.
            let key = (random.next() % 300) &* (step % 2 == 0 ? 1 : 1 << 32)
            switch random.next() % 10 {
            case 0..<5:
                table.set(key, UInt64(step))
                reference[key] = UInt64(step)
            case 5..<9:
                #expect(table.remove(key) == reference.removeValue(forKey: key))
            default:
                if step % 1000 == 0 {
                    table.removeAll()
                    reference.removeAll()
                }
            }
            if step % 997 == 0 {
                #expect(table.count == reference.count)
                for (k, v) in reference { #expect(table[k] == v) }
                var keys: [UInt64] = []
                table.forEachKey { keys.append($0) }
                #expect(keys.sorted() == reference.keys.sorted())
            }
        }
    }
}

/// The machine's own lists (`RawList`) and its fault list against Array, which they replace.
@Suite struct RawListTests {
    @Test func itBehavesLikeAnArray() {
        var random = SplitMix64(seed: 0x11570)
        var list = RawList<UInt64>(capacity: 1)
        var reference: [UInt64] = []
        for step in 0..<20_000 {
            switch random.next() % 8 {
            case 0..<5:
                let v = random.next()
                list.append(v)
                reference.append(v)
            case 5 where !reference.isEmpty:
                let last = list.removeLast()
                #expect(last == reference.removeLast())
            case 6 where !reference.isEmpty:
                let i = Int(random.next() % UInt64(reference.count))
                list[i] = UInt64(step)
                reference[i] = UInt64(step)
            default:
                if step % 500 == 0 {
                    list.removeAll()
                    reference.removeAll()
                }
            }
            let count = list.count
            #expect(count == reference.count)
            if step % 97 == 0 {
                let all = list.array
                #expect(all == reference)
                let from = reference.isEmpty ? 0 : Int(random.next() % UInt64(reference.count + 1))
                let tail = Array(list.elements(from: from))
                #expect(tail == Array(reference[from...]))
            }
        }
    }

    /// Records go in and come out as they were, texts included, and the comparison sees each
    /// field.
    @Test func faultsComeBackAsTaken() {
        let records = [
            FaultRecord(vector: .GP, errorCode: 0, rip: 0x1000, instruction: "wrmsr"),
            FaultRecord(vector: .UD, errorCode: nil, rip: 0x1002, instruction: nil),
            FaultRecord(vector: .PF, errorCode: 0x1F, rip: 0xFFFF_FFFF_FFFF_FFF0, instruction: "mov rax, qword ptr [rbx]"),
        ]
        var a = FaultList(), b = FaultList()
        for r in records {
            a.append(r)
            b.append(r)
        }
        let back = a.records
        #expect(back == records)
        var same = a.same(as: b)
        #expect(same)
        let changes: [(String, (inout FaultRecord) -> Void)] = [
            ("vector", { $0.vector = .NM }), ("error code", { $0.errorCode = 1 }), ("no error code", { $0.errorCode = nil }),
            ("rip", { $0.rip &+= 1 }), ("text", { $0.instruction = "nop" }), ("no text", { $0.instruction = nil }),
        ]
        for (name, change) in changes {
            var changed = records[0]
            change(&changed)
            b.replace(at: 0, with: changed)
            same = a.same(as: b)
            #expect(!same, "\(name)")
            let stored = b.record(0)
            #expect(stored == changed)
        }
        b.replace(at: 0, with: records[0])
        same = a.same(as: b)
        #expect(same)
        let last = b.removeLast()
        #expect(last == records[2])
        same = a.same(as: b)
        #expect(!same, "one fewer")
        a.removeAll()
        let empty = a.isEmpty && a.records.isEmpty
        #expect(empty)
    }
}
