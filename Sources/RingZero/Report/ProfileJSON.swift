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
            ("cycleCosts", .object(cycleCosts.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })),
        ])
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
        var costs: [String: UInt32] = ["default": 1]
        if let c = field("cycleCosts") {
            for (key, v) in try Field.object(c, "profile.cycleCosts") {
                costs[key] = UInt32(try Field.bounded(v, "profile.cycleCosts.\(key)", max: 0xFFFF_FFFF))
            }
        }
        self.init(name: name, processor: processor, cpuid: cpuid, msrs: msrs, txtChipset: txt, cycleCosts: costs)
        do {
            try validate()
        } catch {
            throw InputError("profile: \(error.description)")
        }
    }
}
