import Foundation
import Testing
@testable import RingZero

/// The cycle model: per-profile cost tables, the counters, the time-stamp counter and limits.
@Suite struct CycleModelTests {
    /// `rdtsc; mov r8, rax` + `body` + `rdtsc; sub rax, r8`: RAX ends as the TSC difference.
    func tscDelta(_ body: String, profile: CPUProfile, state: String? = nil) throws -> (UInt64, Machine) {
        let (m, o) = try run("0f 31 49 89 c0 " + body + " 0f 31 4c 29 c0", profile: profile, state: state)
        #expect(o.reason == .end, "\(o)")
        return (m.state[.rax], m)
    }

    @Test(arguments: CPUProfile.builtins)
    func everyProfilePricesEveryFormWithASource(_ profile: CPUProfile) {
        for form in CostForm.allCases {
            let entry = profile.cycleCosts[form.key]
            #expect(entry != nil, "\(profile.name) has no cost for \(form.key)")
            #expect(entry.map { !$0.source.isEmpty && $0.cycles > 0 } ?? false, "\(profile.name): \(form.key)")
        }
        // Estimates say so.
        #expect(profile.cycleCosts["vmxon"]?.source.hasPrefix("estimate") == true)
    }

    @Test(arguments: CPUProfile.builtins)
    func rdtscDifferencesMatchTheCostTable(_ profile: CPUProfile) throws {
        let cost = { (form: CostForm) in UInt64(profile.cycleCost(of: form.key)) }
        // Between the two RDTSCs: the first RDTSC itself, the MOV that saves its result, then the body.
        let frame = cost(.rdtsc) + cost(.alu)
        // MOV RAX, CR0 (a read) and MOV CR2, RAX (a plain write).
        let (a, _) = try tscDelta("0f 20 c1 0f 22 d1", profile: profile)
        #expect(a == frame + cost(.movFromCR0) + cost(.movToCR2))
        // MOV CR4 with its own value, CLTS, RDMSR of IA32_SYSENTER_CS (0x174), an IMUL, a DIV r32.
        let body = "0f 20 e3 0f 22 e3 0f 06 b9 74 01 00 00 4d 89 c1 0f 32 4d 89 c8 48 0f af db b9 01 00 00 00 31 d2 f7 f1"
        let (b, _) = try tscDelta(body, profile: profile, state: #"{"registers": {"rax": "0x5"}}"#)
        #expect(b == frame + cost(.movFromCR4) + cost(.movToCR4) + cost(.clts) + 2 * cost(.alu) + cost(.rdmsr) + cost(.alu)
            + cost(.multiply) + 2 * cost(.alu) + cost(.divide32))
    }

    @Test func variantsAreChargedByWhatHappened() throws {
        let profile = CPUProfile.i7_5600u
        let cost = { (form: CostForm) in UInt64(profile.cycleCost(of: form.key)) }
        let frame = cost(.rdtsc) + cost(.alu)
        // XOR ECX, ECX sets ZF: JZ is taken, JNZ is not.
        let (taken, _) = try tscDelta("31 c9 74 00", profile: profile)
        #expect(taken == frame + cost(.alu) + cost(.branchTaken))
        let (notTaken, _) = try tscDelta("31 c9 75 00", profile: profile)
        #expect(notTaken == frame + cost(.alu) + cost(.branchNotTaken))
        // WRMSR of IA32_EFER is priced on its own; IA32_STAR takes the plain WRMSR cost.
        let efer = "b9 80 00 00 c0 4d 89 c1 b8 01 05 00 00 31 d2 0f 30 4d 89 c8"
        let (e, _) = try tscDelta(efer, profile: profile)
        #expect(e == frame + 5 * cost(.alu) + UInt64(profile.cycleCost(of: "wrmsr IA32_EFER")))
        let star = "b9 81 00 00 c0 4d 89 c1 b8 01 05 00 00 31 d2 0f 30 4d 89 c8"
        let (s, _) = try tscDelta(star, profile: profile)
        #expect(s == frame + 5 * cost(.alu) + cost(.wrmsr))
        #expect(profile.cycleCost(of: "wrmsr IA32_EFER") != profile.cycleCost(of: "wrmsr"))
    }

    @Test func aFaultCostsExceptionDelivery() throws {
        // MOV CR4 with a reserved bit: #GP(0) under --on-fault continue costs the exception only.
        let (m, o) = try run("0f 22 e0", state: #"{"registers": {"rax": "0x8000"}}"#, options: RunOptions(onFault: .continue))
        #expect(o.faults.count == 1 && m.cycleCount == UInt64(m.costs.cost(.exception)))
        #expect(m.cyclesByForm.map(\.form) == ["exception"])
    }

    @Test func jsonProfilesOverrideEntries() throws {
        var json = CPUProfile.i7_5600u.json
        guard case .object(var top) = json, let i = top.firstIndex(where: { $0.0 == "cycleCosts" }),
              case .object(var costs) = top[i].1 else { Issue.record("no cycleCosts"); return }
        costs.append(("wrmsr IA32_STAR", .number("999")))
        if let j = costs.firstIndex(where: { $0.0 == "clts" }) { costs[j].1 = .object([("cycles", .number("7")), ("source", .string("test"))]) }
        top[i].1 = .object(costs)
        top[0].1 = .string("custom")
        json = .object(top)
        let profile = try CPUProfile(json: json)
        #expect(profile.cycleCosts["clts"] == CycleCost(7, "test"))
        let star = "b9 81 00 00 c0 0f 30"
        let (m, _) = try run(star, profile: profile)
        #expect(m.cycleCount == UInt64(profile.cycleCost(of: "alu") + 999))
        #expect(m.cyclesByForm.contains { $0.form == "wrmsr IA32_STAR" && $0.retired == 1 && $0.cycles == 999 })
        // An unknown form is an input error that names it.
        costs.append(("mov cr9, r64", .number("1")))
        top[i].1 = .object(costs)
        #expect(throws: InputError.self) { try CPUProfile(json: .object(top)) }
        // Round trip: what `profiles show` prints reads back unchanged.
        #expect(try CPUProfile(json: CPUProfile.atom330.json) == CPUProfile.atom330)
    }

    @Test func rdmsrOfTheTSCAgreesWithRDTSCAndWRMSRSetsIt() throws {
        // RDTSC; MOV R8, RAX; RDMSR(0x10): the MSR reads what RDTSC would have read there.
        let code = "0f 31 49 89 c0 b9 10 00 00 00 0f 32"
        let (m, _) = try run(code)
        #expect(m.state[.rax] == m.state[.r8] + UInt64(m.costs.cost(.rdtsc)) + 2 * UInt64(m.costs.cost(.alu)))
        // WRMSR TSC := 1_000_000, then RDTSC: the written value plus the WRMSR's own cycles.
        let (n, _) = try run("b9 10 00 00 00 b8 40 42 0f 00 31 d2 0f 30 0f 31")
        #expect(n.state[.rax] == 1_000_000 + UInt64(n.costs.cost(.wrmsr)))
        #expect(n.msrValue(MSRIndex.IA32_TIME_STAMP_COUNTER) == 1_000_000 + UInt64(n.costs.cost(.wrmsr)) + UInt64(n.costs.cost(.rdtsc)))
    }

    @Test func cr4TSDFaultsRDTSCOutsideRing0() throws {
        let state = #"{"registers": {"cr4": "0x624"}, "cpl": 3}"#
        let (_, a) = try run("0f 31", state: state)
        #expect(a.fault?.vector == .GP && a.fault?.errorCode == 0)
        let (_, b) = try run("0f 01 f9", state: state)
        #expect(b.fault?.vector == .GP)
        let (m, c) = try run("0f 31", state: #"{"registers": {"cr4": "0x624"}}"#)
        #expect(c.fault == nil && m.instructionCount == 1)
        // Without TSD, CPL 3 may read it.
        let (_, d) = try run("0f 31", state: #"{"cpl": 3}"#)
        #expect(d.fault == nil)
    }

    @Test(arguments: CPUProfile.builtins)
    func countsAreDeterministicOnBothPaths(_ profile: CPUProfile) throws {
        let blob = [UInt8](try Data(contentsOf: packageRoot.appendingPathComponent("Fixtures/examples/vmx-enable.bin")))
        func report(reference: Bool) throws -> JSONValue {
            let m = try MachineSetup(profile: profile).makeMachine(blob: blob)
            return Report(machine: m, outcome: m.run(RunOptions(referencePath: reference))).json
        }
        let fast = try report(reference: false)
        #expect(fast == (try report(reference: true)))
        #expect(fast == (try report(reference: false)))
        // The breakdown adds up to the total.
        guard case .object(let forms)? = fast["counters"]?["byInstruction"], case .string(let total)? = fast["counters"]?["cycles"] else {
            Issue.record("no counters")
            return
        }
        let sum = forms.reduce(UInt64(0)) { acc, entry in
            guard case .string(let c)? = entry.1["cycles"], let v = UInt64(c.dropFirst(2), radix: 16) else { return acc }
            return acc + v
        }
        #expect("0x" + String(sum, radix: 16) == total)
    }

    @Test func repIterationsAreEachCharged() throws {
        // REP STOSB with RCX = 10: ten string iterations, one retired instruction.
        let (m, _) = try run("48 c7 c1 0a 00 00 00 48 c7 c7 00 20 00 00 f3 aa")
        let string = try #require(m.cyclesByForm.first { $0.form == "string iteration" })
        #expect(string.retired == 1 && string.cycles == 10 * UInt64(m.costs.cost(.stringIteration)))
        #expect(m.cycleCount == 2 * UInt64(m.costs.cost(.alu)) + string.cycles)
    }

    @Test func theTraceShowsTheRunningCycleCount() throws {
        let m = try makeMachine("0f 20 c0 0f 22 c0 f4")
        var cycles: [UInt64] = []
        _ = m.runTraced { cycles.append($0.cycles) }
        let c = { (f: CostForm) in UInt64(m.costs.cost(f)) }
        #expect(cycles == [c(.movFromCR0), c(.movFromCR0) + c(.movToCR0), c(.movFromCR0) + c(.movToCR0) + c(.hlt)])
    }
}
