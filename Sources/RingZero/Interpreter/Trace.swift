/// One retired (or faulting) instruction as `--trace` shows it.
public struct TraceRecord: Sendable {
    /// The cycle counter after the instruction.
    public var cycles: UInt64
    public var address: UInt64
    public var bytes: [UInt8]
    public var text: String
    /// Registers whose value changed, in report order, with their new values.
    public var changes: [(name: String, value: UInt64)]
    /// The exception the instruction raised, if any.
    public var fault: FaultRecord?

    /// `cycles  address  bytes  disassembly  changes`, one line.
    public var line: String {
        let hexBytes = bytes.map { b in (b < 16 ? "0" : "") + String(b, radix: 16) }.joined(separator: " ")
        var out = "\(cycles)".leftPadded(10) + "  0x" + String(address, radix: 16) + "  " + hexBytes.rightPadded(30) + "  " + text.rightPadded(32)
        out += changes.map { "\($0.name)=0x\(String($0.value, radix: 16))" }.joined(separator: " ")
        if let fault { out += "  \(fault.vector.mnemonic)" + (fault.errorCode.map { "(0x\(String($0, radix: 16)))" } ?? "") }
        return out
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
    func rightPadded(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}

extension Machine {
    /// The registers a trace line reports changes in, in report order.
    static func tracedValues(_ s: CPUState) -> [(String, UInt64)] {
        Report.gprOrder.map { ($0.name, s[$0]) } + [
            ("rflags", s.rflags), ("cr0", s.cr0), ("cr2", s.cr2), ("cr3", s.cr3), ("cr4", s.cr4), ("cr8", s.cr8), ("efer", s.efer),
        ]
    }

    /// Run one instruction at a time, handing each to `onInstruction`. Tracing has its own loop
    /// so the ordinary dispatch loop pays nothing for it.
    public func runTraced(_ options: RunOptions = RunOptions(), onInstruction: (TraceRecord) -> Void) -> RunOutcome {
        var faults: [FaultRecord] = []
        while true {
            if instructionCount &+ UInt64(faults.count) >= options.maxInstructions {
                return RunOutcome(reason: .instructionLimit, rip: state.rip, instruction: nil, fault: nil, faults: faults)
            }
            let before = state
            let address = state.rip
            let instruction = disassemble(at: address)
            var step = options
            step.maxInstructions = instructionCount + 1
            // A REP string instruction is bounded by the run's own limit, not the single step's.
            step.repeatBudget = options.maxInstructions &- UInt64(faults.count)
            step.onFault = .stop
            let startCount = instructionCount
            let outcome = run(step)
            let retired = instructionCount > startCount
            if retired || outcome.reason == .fault {
                let changes = zip(Self.tracedValues(before), Self.tracedValues(state)).compactMap { old, new -> (name: String, value: UInt64)? in
                    old.1 != new.1 ? (new.0, new.1) : nil
                }
                onInstruction(TraceRecord(
                    cycles: cycleCount, address: address, bytes: instruction?.bytes ?? memory.peek(address, count: 1),
                    text: instruction?.text ?? "(bad)", changes: changes, fault: outcome.fault))
            }
            switch outcome.reason {
            case .fault:
                guard let fault = outcome.fault else { return outcome }
                if options.onFault == .stop {
                    var o = outcome
                    o.faults = faults
                    return o
                }
                faults.append(fault)
                state.rip = address &+ UInt64(instruction?.bytes.count ?? 1)
            case .instructionLimit where retired:
                continue
            default:
                var o = outcome
                o.faults = faults
                return o
            }
        }
    }
}
