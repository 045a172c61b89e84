/// What a hook tells the run to do after it returns.
public enum HookAction: Sendable {
    /// Carry on.
    case proceed
    /// End the run once the current instruction is done (stop reason `hook`); for the
    /// before-instruction hook, before that instruction executes.
    case stop
}

/// A RDMSR hook's answer.
public enum MSRReadDecision: Sendable, Equatable {
    /// Let the profile's MSR file answer (or raise #GP(0) for an MSR it lacks).
    case normal
    /// Return this value in EDX:EAX, for any MSR, including one the profile lacks.
    case value(UInt64)
    /// Raise #GP(0).
    case generalProtection
}

/// A WRMSR hook's answer.
public enum MSRWriteDecision: Sendable, Equatable {
    /// Let the profile's MSR file take the write with all its checks.
    case normal
    /// The write succeeds and changes nothing (the hook has dealt with it).
    case ignore
    /// Raise #GP(0).
    case generalProtection
}

/// A control register that MOV to CR, CLTS or LMSW changed.
public struct ControlRegisterWrite: Sendable, Equatable {
    /// 0, 2, 3, 4 or 8.
    public var register: Int
    public var oldValue: UInt64
    public var newValue: UInt64

    public init(register: Int, oldValue: UInt64, newValue: UInt64) {
        self.register = register
        self.oldValue = oldValue
        self.newValue = newValue
    }
}

/// A change of VMX or SMX operation.
public enum OperationTransition: Sendable, Equatable {
    /// VMXON succeeded: VMX root operation.
    case vmxOn(vmxonPointer: UInt64)
    /// VMXOFF succeeded.
    case vmxOff
    /// GETSEC[SENTER]: SMX operation and authenticated-code mode.
    case smxEntered
    /// GETSEC[SEXIT].
    case smxLeft
    /// GETSEC[ENTERACCS]: authenticated-code mode.
    case authenticatedCodeEntered
    /// GETSEC[EXITAC].
    case authenticatedCodeLeft
}

/// A guest data access (not an instruction fetch) inside a watched range.
public struct MemoryAccess: Sendable, Equatable {
    /// Guest-physical address of the first byte.
    public var address: UInt64
    /// 1, 2, 4 or 8 bytes.
    public var size: UInt8
    public var isWrite: Bool
    /// The value read or written.
    public var value: UInt64

    public init(address: UInt64, size: UInt8, isWrite: Bool, value: UInt64) {
        self.address = address
        self.size = size
        self.isWrite = isWrite
        self.value = value
    }
}

/// The hooks a machine calls. Each may be absent; with none registered the dispatch loop is the
/// same code it is without the feature: the before-instruction hook selects a separate loop,
/// memory hooks cost one flag test per data access, and the rest are checked only on the
/// instructions they concern.
struct HookTable {
    /// Given the Op where it lies (the run's arena or its decode slot): a copy of a freshly
    /// decoded Op made for the call stalled on store forwarding. Registered when
    /// `hasBeforeInstruction`. Not an optional: a closure kept in one is stored at its most
    /// general abstraction, and every call went through two reabstraction thunks.
    var beforeInstruction: (Machine, UnsafePointer<Op>) -> HookAction = { _, _ in .proceed }
    var hasBeforeInstruction = false
    /// Whether the before-instruction hook sees RFLAGS with its status flags computed (always,
    /// for hooks registered through the API). The fuzzer's invariant checker reads no status
    /// flag, and computing them before every instruction would cost it a third of its time.
    var beforeInstructionReadsStatusFlags = true
    var exception: ((Machine, FaultRecord) -> HookAction)?
    var rdmsr: ((Machine, UInt32) -> MSRReadDecision)?
    var wrmsr: ((Machine, UInt32, UInt64) -> MSRWriteDecision)?
    var controlRegisterWrite: ((Machine, ControlRegisterWrite) -> HookAction)?
    var transition: ((Machine, OperationTransition) -> HookAction)?
    var memory: [(range: ClosedRange<UInt64>, hook: (Machine, MemoryAccess) -> HookAction)] = []

    /// Whether any hook is registered.
    var isActive: Bool {
        hasBeforeInstruction || exception != nil || rdmsr != nil || wrmsr != nil
            || controlRegisterWrite != nil || transition != nil || !memory.isEmpty
    }
}

extension Machine {
    /// Call `hook` before every instruction, with the decoded instruction (``Op``); use
    /// ``disassemble(at:)`` for its text. Returning ``HookAction/stop`` ends the run before the
    /// instruction executes. Replaces any earlier before-instruction hook.
    public func onInstruction(_ hook: @escaping (Machine, Op) -> HookAction) {
        hooks.beforeInstruction = { machine, op in hook(machine, op.pointee) }
        hooks.hasBeforeInstruction = true
        hooks.beforeInstructionReadsStatusFlags = true
    }

    /// A before-instruction hook that reads no status flag (CF, PF, AF, ZF, SF, OF): the run
    /// leaves them pending, as computed lazily, when it calls it. For the fuzzer's checker.
    func onInstructionIgnoringStatusFlags(_ hook: @escaping (Machine, UnsafePointer<Op>) -> HookAction) {
        hooks.beforeInstruction = hook
        hooks.hasBeforeInstruction = true
        hooks.beforeInstructionReadsStatusFlags = false
    }

    /// Call `hook` for every exception, before the fault policy applies. Returning
    /// ``HookAction/stop`` ends the run with this fault even under `--on-fault continue`.
    public func onException(_ hook: @escaping (Machine, FaultRecord) -> HookAction) {
        hooks.exception = hook
    }

    /// Consult `hook` on every RDMSR that passes the privilege checks (#UD without MSR support,
    /// virtual-8086 mode and CPL > 0 still fault first), for MSRs the profile lacks too.
    public func onRDMSR(_ hook: @escaping (Machine, UInt32) -> MSRReadDecision) {
        hooks.rdmsr = hook
    }

    /// Consult `hook` on every WRMSR that passes the privilege checks, with the value EDX:EAX.
    public func onWRMSR(_ hook: @escaping (Machine, UInt32, UInt64) -> MSRWriteDecision) {
        hooks.wrmsr = hook
    }

    /// Call `hook` after each successful MOV to CR0/CR2/CR3/CR4/CR8, CLTS or LMSW.
    public func onControlRegisterWrite(_ hook: @escaping (Machine, ControlRegisterWrite) -> HookAction) {
        hooks.controlRegisterWrite = hook
    }

    /// Call `hook` when VMX or SMX operation, or authenticated-code mode, begins or ends.
    public func onTransition(_ hook: @escaping (Machine, OperationTransition) -> HookAction) {
        hooks.transition = hook
    }

    /// Call `hook` after every guest data access (loads and stores of instructions, stack
    /// pushes and pops, string instructions, VMXON's operand; not instruction fetches) that
    /// touches `range`. Several ranges may be watched.
    public func onMemoryAccess(in range: ClosedRange<UInt64>, _ hook: @escaping (Machine, MemoryAccess) -> HookAction) {
        hooks.memory.append((range, hook))
        watchingMemory = true
    }

    /// Remove every hook.
    public func removeAllHooks() {
        hooks = HookTable()
        watchingMemory = false
    }

    // MARK: Calls from the semantics

    @inline(__always) func stopIfAsked(_ action: HookAction) {
        if action == .stop && pendingStop == nil { pendingStop = .hook }
    }

    func notifyControlRegisterWrite(_ register: Int, _ old: UInt64, _ new: UInt64) {
        guard let hook = hooks.controlRegisterWrite else { return }
        materializeFlags()
        stopIfAsked(hook(self, ControlRegisterWrite(register: register, oldValue: old, newValue: new)))
    }

    func notifyTransition(_ transition: OperationTransition) {
        guard let hook = hooks.transition else { return }
        materializeFlags()
        stopIfAsked(hook(self, transition))
    }

    func notifyMemoryAccess(_ address: UInt64, _ size: UInt8, write: Bool, _ value: UInt64) {
        let last = address &+ UInt64(size) &- 1
        materializeFlags()
        for (range, hook) in hooks.memory where address <= range.upperBound && last >= range.lowerBound {
            stopIfAsked(hook(self, MemoryAccess(address: address, size: size, isWrite: write, value: value)))
        }
    }
}
