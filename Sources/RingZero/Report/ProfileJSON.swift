// CPU profiles as JSON: `ringzero profiles show` prints this form and `--profile FILE.json`
// reads it back. The `derived` object is informational and ignored on input.

extension CPUProfile {
    public var json: JSONValue {
        .object([
            ("name", .string(name)),
            ("processor", .string(processor)),
            ("txtChipset", .bool(txtChipset)),
            ("derived", .object([
                ("vmx", .bool(hasVMX)),
                ("smx", .bool(hasSMX)),
                ("maxPhysicalAddress", .int(maxPhysicalAddress)),
                ("cr4AllowedMask", .hex(cr4AllowedMask)),
            ])),
            ("cpuid", .array(cpuid.map { e in
                .object([
                    ("leaf", .hex(e.leaf)), ("subleaf", .hex(e.subleaf)),
                    ("eax", .hex(e.eax)), ("ebx", .hex(e.ebx)), ("ecx", .hex(e.ecx)), ("edx", .hex(e.edx)),
                ])
            })),
            ("msrs", .array(msrs.map { m in
                .object([
                    ("index", .hex(m.index)), ("name", .string(m.name)), ("reset", .hex(m.reset)),
                    ("gpMask", .hex(m.gpMask)), ("ignoreMask", .hex(m.ignoreMask)), ("readOnly", .bool(m.readOnly)),
                    ("lockBit", .hex(m.lockBit)), ("canonical", .bool(m.canonical)), ("rule", .string(m.rule.rawValue)),
                ])
            })),
            ("cycleCosts", .object(orderedCostKeys.map { key in
                let c = cycleCosts[key]!
                return (key, .object([("cycles", .int(c.cycles)), ("source", .string(c.source))]))
            })),
        ])
    }

    /// Read a profile from JSON text (what `ringzero profiles show` prints).
    public init(jsonText: String) throws(InputError) {
        let json: JSONValue
        do {
            json = try JSONValue.parse(jsonText)
        } catch {
            throw InputError("profile: \(error.description)")
        }
        try self.init(json: json)
    }

    /// Read a profile from the JSON form above; every problem names its field.
    public init(json: JSONValue) throws(InputError) {
        let top = try Field.object(json, "profile", allowed: ["name", "processor", "txtChipset", "derived", "cpuid", "msrs", "cycleCosts"])
        func field(_ key: String) -> JSONValue? { top.first { $0.0 == key }?.1 }
        guard let nameValue = field("name") else { throw InputError("profile.name: missing") }
        let name = try Field.string(nameValue, "profile.name")
        let processor = try field("processor").map { v throws(InputError) in try Field.string(v, "profile.processor") } ?? name
        let txt = try field("txtChipset").map { v throws(InputError) in try Field.bool(v, "profile.txtChipset") } ?? false
        var cpuid: [CPUIDEntry] = []
        for (i, entry) in try Field.array(field("cpuid") ?? .array([]), "profile.cpuid").enumerated() {
            let path = "profile.cpuid[\(i)]"
            let pairs = try Field.object(entry, path, allowed: ["leaf", "subleaf", "eax", "ebx", "ecx", "edx"])
            func reg(_ k: String) throws(InputError) -> UInt32 {
                guard let v = pairs.first(where: { $0.0 == k })?.1 else {
                    if k == "subleaf" { return 0 }
                    throw InputError("\(path).\(k): missing")
                }
                return UInt32(try Field.bounded(v, "\(path).\(k)", max: 0xFFFF_FFFF))
            }
            cpuid.append(CPUIDEntry(leaf: try reg("leaf"), subleaf: try reg("subleaf"), eax: try reg("eax"), ebx: try reg("ebx"), ecx: try reg("ecx"), edx: try reg("edx")))
        }
        var msrs: [MSRDescriptor] = []
        for (i, entry) in try Field.array(field("msrs") ?? .array([]), "profile.msrs").enumerated() {
            let path = "profile.msrs[\(i)]"
            let pairs = try Field.object(entry, path, allowed: ["index", "name", "reset", "gpMask", "ignoreMask", "readOnly", "lockBit", "canonical", "rule"])
            func value(_ k: String) -> JSONValue? { pairs.first { $0.0 == k }?.1 }
            guard let indexValue = value("index") else { throw InputError("\(path).index: missing") }
            let index = UInt32(try Field.bounded(indexValue, "\(path).index", max: 0xFFFF_FFFF))
            func u64(_ k: String) throws(InputError) -> UInt64 { try value(k).map { v throws(InputError) in try Field.uint64(v, "\(path).\(k)") } ?? 0 }
            func flag(_ k: String) throws(InputError) -> Bool { try value(k).map { v throws(InputError) in try Field.bool(v, "\(path).\(k)") } ?? false }
            let ruleName = try value("rule").map { v throws(InputError) in try Field.string(v, "\(path).rule") } ?? "plain"
            guard let rule = MSRRule(rawValue: ruleName) else {
                throw InputError("\(path).rule: unknown rule \"\(ruleName)\" (one of \(MSRRule.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            let msrName = try value("name").map { v throws(InputError) in try Field.string(v, "\(path).name") } ?? "MSR_\(String(index, radix: 16))"
            msrs.append(MSRDescriptor(index, msrName, reset: try u64("reset"), gpMask: try u64("gpMask"), ignoreMask: try u64("ignoreMask"),
                                      readOnly: try flag("readOnly"), lockBit: try u64("lockBit"), canonical: try flag("canonical"), rule: rule))
        }
        var costs: [String: CycleCost] = [:]
        if let c = field("cycleCosts") {
            let msrNames = Set(msrs.map(\.name))
            for (key, v) in try Field.object(c, "profile.cycleCosts") {
                let path = "profile.cycleCosts.\(key)"
                guard Self.isCostKey(key, msrNames: msrNames) else {
                    throw InputError("\(path): unknown instruction form (the forms are those `ringzero profiles show` lists, `default`, or `rdmsr NAME` / `wrmsr NAME` for an MSR of the profile)")
                }
                costs[key] = try Self.cycleCost(v, path)
            }
        }
        self.init(name: name, processor: processor, cpuid: cpuid, msrs: msrs, txtChipset: txt, cycleCosts: costs)
        do {
            try validate()
        } catch {
            throw InputError("profile: \(error.description)")
        }
    }

    /// Cost keys in print order: the fixed forms, then `default`, then per-MSR forms by name.
    var orderedCostKeys: [String] {
        let fixed = CostForm.allCases.map(\.key).filter { cycleCosts[$0] != nil }
        let rest = cycleCosts.keys.filter { k in !CostForm.allCases.contains { $0.key == k } }.sorted { a, b in
            a == "default" ? b != "default" : (b == "default" ? false : a < b)
        }
        return fixed + rest
    }

    static func isCostKey(_ key: String, msrNames: Set<String>) -> Bool {
        if key == "default" || CostForm.allCases.contains(where: { $0.key == key }) { return true }
        for prefix in ["rdmsr ", "wrmsr "] where key.hasPrefix(prefix) {
            return msrNames.contains(String(key.dropFirst(prefix.count)))
        }
        return false
    }

    /// A cost entry: `{"cycles": N, "source": "..."}`, or a bare number of cycles.
    static func cycleCost(_ v: JSONValue, _ path: String) throws(InputError) -> CycleCost {
        if case .object = v {
            let pairs = try Field.object(v, path, allowed: ["cycles", "source"])
            guard let cycles = pairs.first(where: { $0.0 == "cycles" })?.1 else { throw InputError("\(path).cycles: missing") }
            let source = try pairs.first(where: { $0.0 == "source" }).map { p throws(InputError) in try Field.string(p.1, "\(path).source") }
            return CycleCost(UInt32(try Field.bounded(cycles, "\(path).cycles", max: 0xFFFF_FFFF)), source ?? "given by the profile file")
        }
        return CycleCost(UInt32(try Field.bounded(v, path, max: 0xFFFF_FFFF)), "given by the profile file")
    }
}
