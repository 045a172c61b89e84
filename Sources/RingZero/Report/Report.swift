/// The final report of a run: the JSON of the interface (every field present, `null` where a
/// value does not apply, 64-bit values as lowercase hex strings) and a readable text form.
public struct Report: Sendable, Encodable {
    public let json: JSONValue

    /// Register names in report order.
    static let gprOrder: [GPR] = [.rax, .rbx, .rcx, .rdx, .rsi, .rdi, .rbp, .rsp, .r8, .r9, .r10, .r11, .r12, .r13, .r14, .r15]

    public init(machine: Machine, outcome: RunOutcome) {
        let s = machine.state
        var registers: [(String, JSONValue)] = Self.gprOrder.map { ($0.name, .hex(s[$0])) }
        registers += [
            ("rip", .hex(s.rip)), ("rflags", .hex(s.rflags)),
            ("cr0", .hex(s.cr0)), ("cr2", .hex(s.cr2)), ("cr3", .hex(s.cr3)), ("cr4", .hex(s.cr4)), ("cr8", .hex(s.cr8)),
            ("efer", .hex(s.efer)),
        ]
        func segment(_ seg: SegmentState) -> JSONValue {
            .object([("selector", .hex(seg.selector)), ("l", .bool(seg.l)), ("d", .bool(seg.d)), ("dpl", .int(seg.dpl))])
        }
        let inVMX = s.vmx.operation != .none
        json = .object([
            ("stop", .object([
                ("reason", .string(outcome.reason.rawValue)), ("rip", .hex(outcome.rip)),
                ("instruction", outcome.instruction.map { .string($0) } ?? .null),
            ])),
            ("fault", outcome.fault.map(Self.faultJSON) ?? .null),
            ("faults", .array(outcome.faults.map(Self.faultJSON))),
            ("counters", .object([
                ("instructions", .int(machine.instructionCount)),
                ("cycles", .hex(machine.cycleCount)),
                ("unbackedReads", .int(machine.memory.unbackedReads)),
                ("unbackedWrites", .int(machine.memory.unbackedWrites)),
                ("byInstruction", .object(machine.cyclesByForm.map { entry in
                    (entry.form, .object([("retired", .int(entry.retired)), ("cycles", .hex(entry.cycles))]))
                })),
            ])),
            ("mode", .string(s.mode.rawValue)),
            ("cpl", .int(s.cpl)),
            ("registers", .object(registers)),
            ("segments", .object([("cs", segment(s.cs)), ("ss", segment(s.ss))])),
            ("vmx", .object([
                ("operation", .string(s.vmx.operation.rawValue)),
                ("vmxonPointer", inVMX ? .hex(s.vmx.vmxonPointer) : .null),
                ("currentVmcs", inVMX ? .hex(s.vmx.currentVMCS) : .null),
                ("dualMonitor", .bool(s.vmx.dualMonitor)),
            ])),
            ("smx", .object([("operation", .bool(s.smx.operation)), ("authenticatedCodeMode", .bool(s.smx.authenticatedCodeMode))])),
            ("signals", .object([
                ("a20m", .bool(s.signals.a20m)), ("initBlocked", .bool(s.signals.initBlocked)), ("a20mBlocked", .bool(s.signals.a20mBlocked)),
            ])),
            ("platform", .object([("txtChipset", .bool(s.txtChipset))])),
            ("msrs", .object(Self.changedMSRs(machine))),
        ])
    }

    static func faultJSON(_ f: FaultRecord) -> JSONValue {
        .object([
            ("vector", .int(f.vector.rawValue)), ("mnemonic", .string(f.vector.mnemonic)),
            ("errorCode", f.errorCode.map { .hex($0) } ?? .null), ("rip", .hex(f.rip)),
            ("instruction", f.instruction.map { .string($0) } ?? .null),
        ])
    }

    /// Every MSR whose value differs from its reset value, except IA32_EFER (it is
    /// `registers.efer`) and the time-stamp counter, which is listed only once WRMSR (or a state
    /// file) has moved it away from the cycle count.
    static func changedMSRs(_ machine: Machine) -> [(String, JSONValue)] {
        var out: [(String, JSONValue)] = []
        for d in machine.msrFile.descriptors.sorted(by: { $0.index < $1.index }) {
            switch d.rule {
            case .efer: continue
            case .timeStampCounter:
                if machine.tscOffset != 0, let v = machine.msrValue(d.index) { out.append(("0x" + String(d.index, radix: 16), .hex(v))) }
            default:
                if let v = machine.msrFile.storedValue(d.index), v != d.reset { out.append(("0x" + String(d.index, radix: 16), .hex(v))) }
            }
        }
        return out
    }

    public var jsonText: String { json.formatted() }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(jsonText)
    }
}
