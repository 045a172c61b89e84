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
        lines.append("counters:  \(str(c?["instructions"])) instructions, \(str(c?["cycles"])) cycles")
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
