/// An exception the guest raised: a result of the run, not an error of the tool.
public struct GuestException: Error, Equatable, Sendable {
    public var vector: ExceptionVector
    /// nil when the exception pushes no error code (#UD, #NM, #BP, any exception in real mode).
    public var errorCode: UInt32?

    public init(_ vector: ExceptionVector, errorCode: UInt32? = nil) {
        self.vector = vector
        self.errorCode = errorCode
    }

    static let ud = GuestException(.UD)
    static let de = GuestException(.DE)
    static let bp = GuestException(.BP)
}

/// One exception taken during a run, where and on what.
public struct FaultRecord: Equatable, Sendable {
    public var vector: ExceptionVector
    public var errorCode: UInt32?
    public var rip: UInt64
    /// The faulting instruction's disassembly; nil when the bytes are not an instruction.
    public var instruction: String?

    public init(vector: ExceptionVector, errorCode: UInt32?, rip: UInt64, instruction: String?) {
        self.vector = vector
        self.errorCode = errorCode
        self.rip = rip
        self.instruction = instruction
    }
}

/// Why a run ended.
public enum StopReason: String, Sendable, CaseIterable {
    case hlt
    case end
    case fault
    case instructionLimit = "instruction-limit"
    case cycleLimit = "cycle-limit"
    case unsupported
    /// A hook registered through the library asked to stop (never produced by the CLI).
    case hook
}

/// What the fault policy does with an exception.
public enum FaultPolicy: String, Sendable, CaseIterable {
    /// The first exception ends the run.
    case stop
    /// Record it and resume at the next instruction.
    case `continue`
}

/// Limits and policy for one run.
public struct RunOptions: Sendable {
    public var maxInstructions: UInt64
    public var maxCycles: UInt64?
    public var onFault: FaultPolicy
    /// Decode every instruction afresh with no Op cache: the reference path the fast path must match.
    public var referencePath: Bool
    /// The instruction budget REP string iterations are checked against, when it differs from
    /// `maxInstructions` (single-stepping for a trace).
    var repeatBudget: UInt64?

    public init(maxInstructions: UInt64 = 1_000_000_000, maxCycles: UInt64? = nil, onFault: FaultPolicy = .stop, referencePath: Bool = false) {
        self.maxInstructions = maxInstructions
        self.maxCycles = maxCycles
        self.onFault = onFault
        self.referencePath = referencePath
    }
}

/// The result of `Machine.run`.
public struct RunOutcome: Equatable, Sendable {
    public var reason: StopReason
    /// RIP when the run stopped.
    public var rip: UInt64
    /// For `unsupported`: the instruction that stopped the run.
    public var instruction: String?
    /// The exception that stopped the run (reason `fault`).
    public var fault: FaultRecord?
    /// Every exception taken under `--on-fault continue`, in order.
    public var faults: [FaultRecord]

    public init(reason: StopReason, rip: UInt64, instruction: String?, fault: FaultRecord?, faults: [FaultRecord]) {
        self.reason = reason
        self.rip = rip
        self.instruction = instruction
        self.fault = fault
        self.faults = faults
    }
}
