import Foundation

/// Everything needed to build a machine ready to run: profile, mode defaults, memory, the blob
/// and an optional state file. The CLI's `run` is a thin layer over this.
public struct MachineSetup: Sendable {
    public var profile: CPUProfile
    /// Mode whose defaults apply before the state file; the state file's `mode` wins.
    public var mode: OperatingMode
    public var memorySize: UInt64
    public var loadAddress: UInt64
    /// Where a blob goes unless told otherwise (`ringzero run --load-address`).
    public static let defaultLoadAddress: UInt64 = 0x1000
    /// A parsed state file and the folder its relative `memory[].file` paths start from.
    public var state: JSONValue?
    public var stateDirectory: String

    public init(profile: CPUProfile = .i7_5600u, mode: OperatingMode = .long, memorySize: UInt64 = 16 << 20,
                loadAddress: UInt64 = MachineSetup.defaultLoadAddress, state: JSONValue? = nil, stateDirectory: String = ".") {
        self.profile = profile
        self.mode = mode
        self.memorySize = memorySize
        self.loadAddress = loadAddress
        self.state = state
        self.stateDirectory = stateDirectory
    }

    static let topLevelFields = ["mode", "cpl", "registers", "segments", "msrs", "vmx", "smx", "signals", "platform", "memory",
                                 // Report-only fields, accepted so a report can seed the next run.
                                 "stop", "fault", "faults", "counters"]

    /// Build the machine: defaults of the mode, then the state file, then the blob at the load
    /// address with RIP there (unless the state file sets RIP), then the consistency checks.
    public func makeMachine(blob: [UInt8]) throws(InputError) -> Machine {
        let machine: Machine
        do {
            machine = try Machine(profile: profile, memorySize: memorySize)
        } catch let error as ProfileError {
            throw InputError(error.description)
        } catch let error as MachineError {
            throw InputError(error.description)
        } catch {
            throw InputError("internal error: cannot create the machine: \(error)", kind: .internalError)
        }
        try configure(machine, blob: blob)
        return machine
    }

    /// Set up an existing machine of this setup's profile and memory size as `makeMachine`
    /// would a new one. The machine must be fresh or restored to a snapshot of a fresh one
    /// (memory all zero): only the blob and the state file's regions are written.
    public func configure(_ machine: Machine, blob: [UInt8]) throws(InputError) {
        guard machine.profile.name == profile.name, machine.memory.size == memorySize else {
            throw InputError("internal error: the machine does not match the setup's profile or memory size", kind: .internalError)
        }
        guard loadAddress < memorySize else {
            throw InputError("load address 0x\(String(loadAddress, radix: 16)) is outside guest memory (size 0x\(String(memorySize, radix: 16)))")
        }
        guard UInt64(blob.count) <= memorySize - loadAddress else {
            throw InputError("the blob (\(blob.count) bytes) does not fit in guest memory at 0x\(String(loadAddress, radix: 16)) (memory size 0x\(String(memorySize, radix: 16)))")
        }
        var pairs: [(String, JSONValue)] = []
        if let state { pairs = try Field.object(state, "", allowed: Self.topLevelFields) }
        func field(_ key: String) -> JSONValue? { pairs.first { $0.0 == key }?.1 }

        var mode = self.mode
        if let m = field("mode") {
            let name = try Field.string(m, "mode")
            guard let parsed = OperatingMode(rawValue: name) else {
                throw InputError("mode: unknown mode \"\(name)\" (one of real, protected, v8086, compat, long)")
            }
            mode = parsed
        }
        machine.state = Self.defaults(for: mode, memorySize: memorySize, profile: profile)
        machine.state.rip = loadAddress
        guard machine.load(blob, at: loadAddress) else { throw InputError("the blob does not fit in guest memory") }
        machine.endAddress = loadAddress + UInt64(blob.count)

        var cpl: UInt64?
        if let v = field("cpl") { cpl = try Field.bounded(v, "cpl", max: 3) }
        if let v = field("registers") { try applyRegisters(v, to: machine) }
        if let v = field("segments") { try applySegments(v, to: machine) }
        if let cpl { machine.state.cs.dpl = UInt8(cpl); machine.state.ss.dpl = UInt8(cpl) }
        if let v = field("msrs") { try applyMSRs(v, to: machine) }
        if let v = field("vmx") { try applyVMX(v, to: machine) }
        if let v = field("smx") {
            for (key, value) in try Field.object(v, "smx", allowed: ["operation", "authenticatedCodeMode"]) {
                let b = try Field.bool(value, "smx.\(key)")
                if key == "operation" { machine.state.smx.operation = b } else { machine.state.smx.authenticatedCodeMode = b }
            }
        }
        if let v = field("signals") {
            for (key, value) in try Field.object(v, "signals", allowed: ["a20m", "initBlocked", "a20mBlocked"]) {
                let b = try Field.bool(value, "signals.\(key)")
                switch key {
                case "a20m": machine.state.signals.a20m = b
                case "initBlocked": machine.state.signals.initBlocked = b
                default: machine.state.signals.a20mBlocked = b
                }
            }
        }
        if let v = field("platform") {
            for (_, value) in try Field.object(v, "platform", allowed: ["txtChipset"]) {
                machine.state.txtChipset = try Field.bool(value, "platform.txtChipset")
            }
        }
        if let v = field("memory") { try applyMemory(v, to: machine) }
        try Self.checkConsistency(machine.state, profile: profile, requestedMode: field("mode") == nil ? nil : mode, cpl: cpl)
        machine.refreshDerivedState()
    }

    /// The architectural state a mode starts in (interface "Defaults per mode").
    public static func defaults(for mode: OperatingMode, memorySize: UInt64, profile: CPUProfile) -> CPUState {
        var s = CPUState()
        s.txtChipset = profile.txtChipset
        s[.rsp] = memorySize
        switch mode {
        case .long, .compat:
            s.cr0 = 0x8005_0033
            s.cr4 = 0x620
            s.efer = 0x500
            s.cs = SegmentState(selector: 0x8, l: mode == .long, d: mode == .compat, dpl: 0)
            s.ss = SegmentState(selector: 0x10, l: false, d: true, dpl: 0)
        case .protected:
            s.cr0 = 0x33
            s.cs = SegmentState(selector: 0x8, l: false, d: true, dpl: 0)
            s.ss = SegmentState(selector: 0x10, l: false, d: true, dpl: 0)
        case .v8086:
            s.cr0 = 0x33
            s.rflags |= RFLAGS.VM
            s.cs = SegmentState(selector: 0, l: false, d: false, dpl: 3)
            s.ss = SegmentState(selector: 0, l: false, d: false, dpl: 3)
        case .real:
            s.cr0 = 0x10
        }
        return s
    }

    private func applyRegisters(_ value: JSONValue, to machine: Machine) throws(InputError) {
        let names = Report.gprOrder.map(\.name) + ["rip", "rflags", "cr0", "cr2", "cr3", "cr4", "cr8", "efer"]
        for (key, v) in try Field.object(value, "registers", allowed: names) {
            let x = try Field.uint64(v, "registers.\(key)")
            if let gpr = GPR.allCases.first(where: { $0.name == key }) {
                machine.state[gpr] = x
                continue
            }
            switch key {
            case "rip": machine.state.rip = x
            case "rflags": machine.state.rflags = (x & RFLAGS.defined) | RFLAGS.reserved1
            case "cr0": machine.state.cr0 = x
            case "cr2": machine.state.cr2 = x
            case "cr3": machine.state.cr3 = x
            case "cr4": machine.state.cr4 = x
            case "cr8": machine.state.cr8 = x & 0xF
            default: machine.state.efer = x
            }
        }
    }

    private func applySegments(_ value: JSONValue, to machine: Machine) throws(InputError) {
        for (name, v) in try Field.object(value, "segments", allowed: ["cs", "ss"]) {
            var seg = name == "cs" ? machine.state.cs : machine.state.ss
            for (key, x) in try Field.object(v, "segments.\(name)", allowed: ["selector", "l", "d", "dpl"]) {
                let path = "segments.\(name).\(key)"
                switch key {
                case "selector": seg.selector = UInt16(try Field.bounded(x, path, max: 0xFFFF))
                case "l": seg.l = try Field.bool(x, path)
                case "d": seg.d = try Field.bool(x, path)
                default: seg.dpl = UInt8(try Field.bounded(x, path, max: 3))
                }
            }
            if name == "cs" { machine.state.cs = seg } else { machine.state.ss = seg }
        }
    }

    private func applyMSRs(_ value: JSONValue, to machine: Machine) throws(InputError) {
        for (key, v) in try Field.object(value, "msrs") {
            let index = try Field.uint64(.string(key), "msrs key \"\(key)\"")
            let x = try Field.uint64(v, "msrs.\(key)")
            guard index <= 0xFFFF_FFFF, machine.setMSR(UInt32(index), x) else {
                throw InputError("msrs.\(key): profile \(profile.name) has no MSR \(key)")
            }
        }
    }

    private func applyVMX(_ value: JSONValue, to machine: Machine) throws(InputError) {
        var vmxonPointer: UInt64?, currentVMCS: UInt64?
        for (key, v) in try Field.object(value, "vmx", allowed: ["operation", "vmxonPointer", "currentVmcs", "dualMonitor"]) {
            let path = "vmx.\(key)"
            switch key {
            case "operation":
                let name = try Field.string(v, path)
                guard let op = VMXOperation(rawValue: name) else {
                    throw InputError("\(path): unknown VMX operation \"\(name)\" (none or root)")
                }
                machine.state.vmx.operation = op
            case "vmxonPointer": vmxonPointer = try Field.uint64OrNull(v, path)
            case "currentVmcs": currentVMCS = try Field.uint64OrNull(v, path)
            default: machine.state.vmx.dualMonitor = try Field.bool(v, path)
            }
        }
        if machine.state.vmx.operation == .root {
            machine.state.vmx.vmxonPointer = vmxonPointer ?? 0
            machine.state.vmx.currentVMCS = currentVMCS ?? .max
        }
    }

    private func applyMemory(_ value: JSONValue, to machine: Machine) throws(InputError) {
        for (i, entry) in try Field.array(value, "memory").enumerated() {
            let path = "memory[\(i)]"
            let pairs = try Field.object(entry, path, allowed: ["address", "hex", "file"])
            func get(_ k: String) -> JSONValue? { pairs.first { $0.0 == k }?.1 }
            guard let a = get("address") else { throw InputError("\(path).address: missing") }
            let address = try Field.uint64(a, "\(path).address")
            let bytes: [UInt8]
            switch (get("hex"), get("file")) {
            case (let hex?, nil):
                bytes = try Self.hexBytes(try Field.string(hex, "\(path).hex"), "\(path).hex")
            case (nil, let file?):
                let name = try Field.string(file, "\(path).file")
                let url = name.hasPrefix("/") ? URL(fileURLWithPath: name) : URL(fileURLWithPath: stateDirectory).appendingPathComponent(name)
                // No more than fits in guest memory from `address` on.
                let room = address < machine.memory.size ? machine.memory.size - address : 0
                do throws(InputFile.Failure) {
                    bytes = try InputFile.read(url.path, limit: Int(clamping: room))
                } catch {
                    switch error {
                    case .tooLarge:
                        throw InputError("\(path): \(url.path) does not fit in guest memory at 0x\(String(address, radix: 16))")
                    case .missing, .unreadable:
                        throw InputError("\(path).file: cannot read \(url.path): \(error.reason)", kind: .unreadable)
                    }
                }
            default:
                throw InputError("\(path): give exactly one of \"hex\" or \"file\"")
            }
            guard machine.load(bytes, at: address) else {
                throw InputError("\(path): \(bytes.count) bytes at 0x\(String(address, radix: 16)) do not fit in guest memory")
            }
        }
    }

    static func hexBytes(_ text: String, _ path: String) throws(InputError) -> [UInt8] {
        // Byte by byte over the UTF-8: ASCII whitespace is skipped here; text with any other
        // non-ASCII character goes through Character.isWhitespace, as it always has.
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count / 2)
        var high: UInt8? = nil
        var offset = 0
        for byte in text.utf8 {
            switch byte {
            case 0x20, 0x09, 0x0A, 0x0D, 0x0B, 0x0C: continue
            case 0x80...: return try unicodeHexBytes(text, path)
            default: break
            }
            guard let nibble = hexDigit(byte) else { throw InputError("\(path): malformed hex at offset \(offset & ~1)") }
            if let h = high {
                out.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
            offset += 1
        }
        guard high == nil else { throw InputError("\(path): odd number of hex digits") }
        return out
    }

    private static func hexDigit(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Hex text with non-ASCII characters: whitespace by Unicode's definition is skipped.
    private static func unicodeHexBytes(_ text: String, _ path: String) throws(InputError) -> [UInt8] {
        let digits = Array(text.filter { !$0.isWhitespace }.utf8)
        guard digits.count % 2 == 0 else { throw InputError("\(path): odd number of hex digits") }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var i = 0
        while i < digits.count {
            guard let h = hexDigit(digits[i]), let l = hexDigit(digits[i + 1]) else {
                throw InputError("\(path): malformed hex at offset \(i)")
            }
            out.append(h << 4 | l)
            i += 2
        }
        return out
    }

    /// Exactly the combinations the interface says a processor never holds.
    static func checkConsistency(_ s: CPUState, profile: CPUProfile, requestedMode: OperatingMode?, cpl: UInt64?) throws(InputError) {
        if s.vmx.operation != .none {
            if !profile.hasVMX { throw InputError("vmx.operation: profile \(profile.name) has no VMX") }
            if s.cr4 & CR4.VMXE == 0 { throw InputError("vmx.operation: VMX operation requires CR4.VMXE = 1 (registers.cr4)") }
        }
        if s.smx.operation && !profile.hasSMX { throw InputError("smx.operation: profile \(profile.name) has no SMX") }
        if s.cr0 & CR0.PG != 0 && s.cr0 & CR0.PE == 0 { throw InputError("registers.cr0: CR0.PG set with CR0.PE clear") }
        let lmaExpected = s.efer & EFER.LME != 0 && s.cr0 & CR0.PG != 0
        if (s.efer & EFER.LMA != 0) != lmaExpected {
            throw InputError("registers.efer: EFER.LMA must equal EFER.LME and CR0.PG together")
        }
        if s.cs.l && s.efer & EFER.LMA == 0 {
            // Often the CS.L of the starting mode's defaults, with EFER set by the file.
            throw InputError("segments.cs.l: CS.L set outside IA-32e mode (EFER.LMA is 0: registers.efer, msrs.0xc0000080 or mode)")
        }
        let derived = s.mode
        if let requestedMode, requestedMode != derived {
            throw InputError("mode: \"\(requestedMode.rawValue)\" contradicts CR0.PE, RFLAGS.VM, EFER.LMA and CS.L, which give \"\(derived.rawValue)\"")
        }
        if derived == .real && (cpl ?? 0) != 0 { throw InputError("cpl: must be 0 in real-address mode") }
        if derived == .v8086 && (cpl ?? 3) != 3 { throw InputError("cpl: must be 3 in virtual-8086 mode") }
    }
}
