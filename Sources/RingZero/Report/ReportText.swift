extension Report {
    /// A readable summary: why the run stopped, the fault, the counters, the registers and the
    /// VMX/SMX state.
    public var text: String {
        func str(_ v: JSONValue?) -> String {
            switch v {
            case .string(let s)?: s
            case .number(let n)?: n
            case .bool(let b)?: b ? "yes" : "no"
            case .null?, nil: "-"
            default: "?"
            }
        }
        /// A report's hex string as a decimal number.
        func decimal(_ v: JSONValue?) -> String {
            guard case .string(let s)? = v, s.hasPrefix("0x"), let n = UInt64(s.dropFirst(2), radix: 16) else { return str(v) }
            return String(n)
        }
        func pad(_ s: String, _ width: Int) -> String { s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count) }
        var lines: [String] = []
        let stop = json["stop"]
        var stopLine = "stop:      \(str(stop?["reason"])) at \(str(stop?["rip"]))"
        if case .string(let i)? = stop?["instruction"] { stopLine += " (\(i))" }
        lines.append(stopLine)
        func faultLine(_ f: JSONValue) -> String {
            var line = "\(str(f["mnemonic"]))"
            if case .string(let code)? = f["errorCode"] { line += "(\(code))" }
            line += " at \(str(f["rip"]))"
            if case .string(let i)? = f["instruction"] { line += ": \(i)" }
            return line
        }
        if let f = json["fault"], f != .null { lines.append("fault:     " + faultLine(f)) }
        if case .array(let all)? = json["faults"], !all.isEmpty {
            lines.append("faults:    \(all.count) taken")
            for f in all { lines.append("           " + faultLine(f)) }
        }
        let c = json["counters"]
        let totalCycles = decimal(c?["cycles"])
        lines.append("counters:  \(str(c?["instructions"])) instructions, \(totalCycles) cycles")
        // Where the cycles went: the dearest forms first.
        if case .object(let forms)? = c?["byInstruction"], !forms.isEmpty {
            let total = max(UInt64(totalCycles) ?? 1, 1)
            for (form, entry) in forms.prefix(5) {
                let cycles = UInt64(decimal(entry["cycles"])) ?? 0
                let permille = cycles.multipliedReportingOverflow(by: 1000).overflow ? cycles / (total / 1000 + 1) : cycles * 1000 / total
                lines.append("           " + pad(form, 28) + pad("\(str(entry["retired"]))x", 8)
                             + pad("\(cycles) cycles", 18) + "\(permille / 10).\(permille % 10)%")
            }
            if forms.count > 5 { lines.append("           (\(forms.count - 5) more forms in counters.byInstruction)") }
        }
        lines.append("mode:      \(str(json["mode"])), CPL \(str(json["cpl"]))")
        if case .object(let regs)? = json["registers"] {
            var row: [String] = []
            for (name, value) in regs {
                row.append(pad(name, 7) + pad(str(value), 20))
                if row.count == 4 { lines.append(row.joined()); row = [] }
            }
            if !row.isEmpty { lines.append(row.joined()) }
        }
        let vmx = json["vmx"], smx = json["smx"]
        lines.append("vmx:       \(str(vmx?["operation"])), VMXON pointer \(str(vmx?["vmxonPointer"])), current VMCS \(str(vmx?["currentVmcs"]))")
        lines.append("smx:       in SMX operation \(str(smx?["operation"])), authenticated-code mode \(str(smx?["authenticatedCodeMode"]))")
        if case .object(let msrs)? = json["msrs"], !msrs.isEmpty {
            lines.append("msrs:      " + msrs.map { "\($0.0)=\(str($0.1))" }.joined(separator: " "))
        }
        return lines.joined(separator: "\n")
    }
}
