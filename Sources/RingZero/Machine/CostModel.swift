/// One entry of a profile's cycle-cost table: the cost in core cycles and where the number
/// comes from (a measured table, a paper, or an estimate marked as such).
public struct CycleCost: Equatable, Sendable {
    public var cycles: UInt32
    public var source: String

    public init(_ cycles: UInt32, _ source: String) {
        self.cycles = cycles
        self.source = source
    }
}

/// A profile's cost table resolved into arrays indexed by form: the fixed `CostForm`s first,
/// then one read and one write form for each MSR the table prices separately. Costs are looked
/// up when an instruction is decoded and stored in its Op, so the dispatch loop only adds.
public struct CostModel: Sendable {
    /// Form names (`CostForm.key`, then `rdmsr NAME` / `wrmsr NAME`), indexed by form.
    public let names: [String]
    /// Cycles per form.
    public let cycles: [UInt32]
    /// For each MSR slot of the machine's MSR file, the form RDMSR and WRMSR of it are charged as.
    let readForm: [UInt16]
    let writeForm: [UInt16]
    /// Per fixed form, the dearest form an instruction decoded as it may end up charged as
    /// (a taken branch, a mode-switching MOV to CR0, a GETSEC leaf, a per-MSR WRMSR).
    let worstCase: [UInt32]

    init(profile: CPUProfile, msrs: [MSRDescriptor]) {
        var names = CostForm.allCases.map(\.key)
        var cycles = CostForm.allCases.map { profile.cycleCost(of: $0.key) }
        var readForm: [UInt16] = [], writeForm: [UInt16] = []
        // An MSR gets forms of its own only when the table prices it separately.
        func perMSRForm(_ key: String, _ base: CostForm) -> UInt16 {
            guard profile.cycleCosts[key] != nil else { return base.rawValue }
            names.append(key)
            cycles.append(profile.cycleCost(of: key))
            return UInt16(names.count - 1)
        }
        for m in msrs {
            readForm.append(perMSRForm("rdmsr \(m.name)", .rdmsr))
            writeForm.append(perMSRForm("wrmsr \(m.name)", .wrmsr))
        }
        self.names = names
        self.cycles = cycles
        self.readForm = readForm
        self.writeForm = writeForm
        let msrReads = readForm.map { cycles[Int($0)] }.max() ?? 0
        let msrWrites = writeForm.map { cycles[Int($0)] }.max() ?? 0
        worstCase = CostForm.allCases.map { form in
            var worst = CostForm.variants(of: form).map { cycles[Int($0.rawValue)] }.max() ?? 0
            if form == .rdmsr { worst = max(worst, msrReads) }
            if form == .wrmsr { worst = max(worst, msrWrites) }
            return worst
        }
    }

    @inline(__always) func cost(_ form: CostForm) -> UInt32 { cycles[Int(form.rawValue)] }

    /// The default profile's model, for decoding where no machine is involved (listings).
    static let standard = CostModel(profile: .i7_5600u, msrs: CPUProfile.i7_5600u.msrs)

    /// Set an Op's form and cost. Forms whose cost depends on what happens at run time (a taken
    /// branch, a mode switch, a GETSEC leaf, a failing VMXON, a per-MSR price) start at their
    /// base form and the handler moves the instruction to the variant it turned out to be.
    func price(_ op: inout Op) {
        let form = Self.form(of: op)
        op.form = form.rawValue
        op.cost = cycles[Int(form.rawValue)]
    }

    @inline(__always) static func form(of op: Op) -> CostForm {
        switch op.handler {
        case .movToCR:
            switch op.cond {
            case 0: return .movToCR0
            case 2: return .movToCR2
            case 3: return .movToCR3
            case 4: return .movToCR4
            default: return .movToCR8
            }
        case .movFromCR:
            switch op.cond {
            case 0: return .movFromCR0
            case 2: return .movFromCR2
            case 3: return .movFromCR3
            case 4: return .movFromCR4
            default: return .movFromCR8
            }
        case .clts: return .clts
        case .lmsw: return .lmsw
        case .rdmsr: return .rdmsr
        case .wrmsr: return .wrmsr
        case .getsec: return .getsecCapabilities
        case .vmxon: return .vmxon
        case .vmxoff: return .vmxoff
        case .cpuid: return .cpuid
        case .rdtsc: return .rdtsc
        case .rdtscp: return .rdtscp
        case .hlt: return .hlt
        case .mul, .imul1, .imul2, .imul3: return .multiply
        case .div, .idiv:
            switch op.size {
            case 1: return .divide8
            case 2: return .divide16
            case 4: return .divide32
            default: return .divide64
            }
        case .jmp, .jmpIndirect, .call, .callIndirect, .ret, .jcc, .jccNear, .jrcxz, .loop, .loope, .loopne:
            return .branchTaken
        case .stos, .movs: return .stringIteration
        case .push, .pushf: return .store
        case .pop, .popf: return .load
        case .lea, .nop, .invalidOpcode, .unsupported, .ud2, .int3: return .alu
        case .cmp, .test, .bt:
            return op.dstKind == .mem || op.srcKind == .mem ? .load : .alu
        default:
            if op.dstKind == .mem { return .store }
            return op.srcKind == .mem ? .load : .alu
        }
    }

    /// Index of a form by name, if the model has it.
    public func form(named name: String) -> Int? { names.firstIndex(of: name) }
}

extension CPUProfile {
    /// The cycles of a form: the table's entry, or the default profile's when this profile does
    /// not list it (a JSON profile may give only the entries it changes).
    public func cycleCost(of key: String) -> UInt32 {
        if let c = cycleCosts[key] { return c.cycles }
        if let c = cycleCosts["default"] { return c.cycles }
        if let c = BuiltinCosts.broadwell[key] { return c.cycles }
        return 1
    }
}
