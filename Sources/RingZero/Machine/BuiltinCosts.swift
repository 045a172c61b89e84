// Cycle-cost tables of the built-in profiles, in core cycles, each entry with its source.
//
// shared/spec/timing.md is the basis: Intel publishes no per-instruction timings for the
// privileged instructions on any recent core, so those entries are the estimates of its §3
// (a Skylake-class core), labelled as such. The integer classes use instruction-table latencies
// recalled from Agner Fog's tables and not re-verified; where no figure exists at all the entry
// says it is our own estimate. A JSON profile may override any entry.

enum BuiltinCosts {
    private static let timingEstimate = "estimate: shared/spec/timing.md §3 (Skylake-class core; no measurement published)"
    private static let ownEstimate = "estimate (ours): no published figure; see docs/cycle-model.md"

    /// The privileged forms, shared by the Skylake- and Broadwell-class tables.
    private static func privileged(_ source: String) -> [String: CycleCost] {
        var t: [String: CycleCost] = [:]
        func put(_ form: CostForm, _ cycles: UInt32, _ why: String = source) { t[form.key] = CycleCost(cycles, why) }
        put(.movFromCR0, 3); put(.movFromCR2, 3); put(.movFromCR3, 3); put(.movFromCR4, 3); put(.movFromCR8, 3)
        put(.movToCR0, 100); put(.movToCR0ModeSwitch, 300); put(.movToCR2, 20)
        put(.movToCR3, 200); put(.movToCR3NoFlush, 100); put(.movToCR4, 200); put(.movToCR8, 10)
        put(.clts, 30); put(.lmsw, 100)
        put(.rdmsr, 60); put(.wrmsr, 200)
        put(.getsecCapabilities, 200); put(.getsecParameters, 200); put(.getsecSmctrl, 300)
        put(.getsecEnteraccs, 10_000_000); put(.getsecSenter, 10_000_000)
        put(.getsecSexit, 50_000); put(.getsecWakeup, 50_000)
        put(.getsecExitac, 1_000, ownEstimate + " (EXITAC: checks and a far return, no module work)")
        put(.vmxon, 1_500); put(.vmxonFail, 300); put(.vmxoff, 1_000)
        put(.cpuid, 150, "recalled: Agner Fog, instruction tables (Skylake), 100-250 by leaf; not re-verified (timing.md §2)")
        put(.rdtsc, 25, "recalled: Agner Fog, instruction tables (Skylake); not re-verified (timing.md §2)")
        put(.rdtscp, 32, "recalled: Agner Fog, instruction tables (Skylake); not re-verified")
        put(.exception, 200, ownEstimate + " (delivery through a 64-bit interrupt gate)")
        t["rdmsr IA32_TIME_STAMP_COUNTER"] = CycleCost(30, source)
        t["wrmsr IA32_EFER"] = CycleCost(300, source)
        t["wrmsr IA32_PAT"] = CycleCost(300, source)
        t["wrmsr IA32_APIC_BASE"] = CycleCost(300, source)
        t["wrmsr IA32_FEATURE_CONTROL"] = CycleCost(300, ownEstimate + " (priced like the MSRs with side effects in timing.md §3)")
        return t
    }

    /// Integer classes: latencies for a load-use, a multiply and a divide, one cycle for the rest.
    private static func integer(load: UInt32, multiply: UInt32, divide: (UInt32, UInt32, UInt32, UInt32), source: String) -> [String: CycleCost] {
        var t: [String: CycleCost] = [:]
        func put(_ form: CostForm, _ cycles: UInt32, _ why: String = source) { t[form.key] = CycleCost(cycles, why) }
        put(.alu, 1); put(.store, 1); put(.load, load); put(.multiply, multiply)
        put(.divide8, divide.0); put(.divide16, divide.1); put(.divide32, divide.2); put(.divide64, divide.3)
        put(.branchTaken, 2); put(.branchNotTaken, 1); put(.stringIteration, 1)
        put(.hlt, 1, ownEstimate)
        return t
    }

    /// Skylake (i7-6700K).
    static let skylake: [String: CycleCost] = privileged(timingEstimate).merging(
        integer(load: 4, multiply: 3, divide: (23, 23, 26, 42),
                source: "recalled: Agner Fog, instruction tables (Skylake); DIV r64 is 35-88, taken as 42; not re-verified"),
        uniquingKeysWith: { a, _ in a })

    /// Broadwell (i7-5600U): timing.md's Skylake-class figures, which it gives for this class of core.
    static let broadwell: [String: CycleCost] = privileged(timingEstimate + "; applied to Broadwell").merging(
        integer(load: 4, multiply: 3, divide: (24, 24, 26, 40),
                source: "recalled: Agner Fog, instruction tables (Broadwell); DIV r64 is 32-96, taken as 40; not re-verified"),
        uniquingKeysWith: { a, _ in a })

    /// Bonnell (Atom 330): an in-order core. No privileged-instruction data exists for it; the
    /// Skylake-class estimates stand in. VMX and SMX forms are listed although the processor
    /// raises #UD for them, so that every profile prices every form.
    static let bonnell: [String: CycleCost] = privileged(timingEstimate + "; no Bonnell data, Skylake-class value used").merging(
        integer(load: 3, multiply: 5, divide: (22, 33, 49, 183),
                source: "recalled: Agner Fog, instruction tables (Atom); not re-verified"),
        uniquingKeysWith: { a, _ in a })
}
