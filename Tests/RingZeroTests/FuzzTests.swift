import Foundation
import Testing
@testable import RingZero

/// The fuzzer: deterministic cases, invariants that fire on states that break them, and clean
/// runs of generated cases on every profile.
@Suite struct FuzzTests {
    @Test func theSameSeedGivesTheSameCases() {
        let engine = FuzzEngine(profile: .i7_5600u, length: 12)
        for index: UInt64 in [0, 1, 77, 4096] {
            let a = engine.fuzzCase(seed: 42, index: index), b = engine.fuzzCase(seed: 42, index: index)
            #expect(a.blob == b.blob && a.state == b.state && a.mode == b.mode)
            #expect(a.chunks.count == 12)
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
