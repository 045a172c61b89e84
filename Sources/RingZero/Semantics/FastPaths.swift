// The register-only 32- and 64-bit forms of the commonest integer instructions, each inlined
// into its own threaded handler (ThreadedHandlers.swift). Each computes exactly what its
// generic handler (Arithmetic.swift, DataMovement.swift, ControlFlow.swift) does for that
// form, with no operand-kind or size switch and nothing that can fault; the reference path
// decodes without them, so the fast and reference paths agreeing (RobustnessTests, the
// fuzzer) checks them against the generic ones.

extension Machine {
    /// The near Jcc `op` with its condition decided: RIP to the target (checked canonical when
    /// the Op was made) or past it, charged as not taken.
    @inline(__always) func takeJcc(_ op: UnsafePointer<Op>, _ taken: Bool) {
        if taken {
            state.rip = UInt64(bitPattern: op.pointee.imm)
        } else {
            state.rip = op.pointee.nextAddress
            charge(op, as: .branchNotTaken)
        }
    }
}

/// The core as the fast forms see it: their threaded handlers are passed the core beside the
/// machine, and reach the registers and the pending flags through it without loading
/// `Machine.core` first (docs/performance.md, item 48). The accessors are `Machine`'s own.
struct FastCore {
    let core: UnsafeMutablePointer<MachineCore>

    var state: CPUState {
        _read { yield core.pointee.state }
        nonmutating _modify { yield &core.pointee.state }
    }
    var lazyKind: LazyFlagsKind { get { core.pointee.lazyKind } nonmutating set { core.pointee.lazyKind = newValue } }
    var lazyA: UInt64 { get { core.pointee.lazyA } nonmutating set { core.pointee.lazyA = newValue } }
    var lazyB: UInt64 { get { core.pointee.lazyB } nonmutating set { core.pointee.lazyB = newValue } }
    var lazyResult: UInt64 { get { core.pointee.lazyResult } nonmutating set { core.pointee.lazyResult = newValue } }
    var lazyCarry: UInt64 { get { core.pointee.lazyCarry } nonmutating set { core.pointee.lazyCarry = newValue } }
    var lazySize: UInt8 {
        get { UInt8(truncatingIfNeeded: core.pointee.lazySize) }
        nonmutating set { core.pointee.lazySize = UInt64(newValue) }
    }
    @inline(__always) var carryFlag: UInt64 { Machine.carryFlag(core) }
}

extension FastCore {
    /// Run `op` as the fast form `handler`, known where it is called (a threaded handler per
    /// fast form, so the switch folds away): any but the Jcc, which has a threaded handler of
    /// its own (`closeBlock`). None sets RIP: the threaded loop stores the next address when a
    /// block ends on one. Returns the result the flags are now pending on (0 for MOV), so that
    /// a loop-closing JZ or JNZ tests it from a register instead of reading it back.
    ///
    /// `wide`: whether the Op's size is 8 (else 4), known where it is called, so that each
    /// threaded handler has one straight-line body per width instead of computing both.
    ///
    /// Only the threaded handlers run these (the generic loop runs a fast form's Op through
    /// its generic handler), so INC and DEC may take their CF from the Op's `carryHint`.
    @discardableResult
    @inline(__always) func executeFast(_ handler: Handler, _ op: UnsafePointer<Op>, wide: Bool) -> UInt64 {
        switch handler {
        case .addRR: return fastArithmetic(op, wide, .plainAdd, fastSource(op, wide)) { $0 &+ $1 }
        case .addRI: return fastArithmetic(op, wide, .plainAdd, fastImmediate(op, wide)) { $0 &+ $1 }
        case .subRR: return fastArithmetic(op, wide, .plainSub, fastSource(op, wide)) { $0 &- $1 }
        case .subRI: return fastArithmetic(op, wide, .plainSub, fastImmediate(op, wide)) { $0 &- $1 }
        case .cmpRR: return fastArithmetic(op, wide, .plainSub, fastSource(op, wide), writeBack: false) { $0 &- $1 }
        case .cmpRI: return fastArithmetic(op, wide, .plainSub, fastImmediate(op, wide), writeBack: false) { $0 &- $1 }
        case .andRR: return fastLogic(op, wide, fastSource(op, wide)) { $0 & $1 }
        case .andRI: return fastLogic(op, wide, fastImmediate(op, wide)) { $0 & $1 }
        case .orRR: return fastLogic(op, wide, fastSource(op, wide)) { $0 | $1 }
        case .orRI: return fastLogic(op, wide, fastImmediate(op, wide)) { $0 | $1 }
        case .xorRR: return fastLogic(op, wide, fastSource(op, wide)) { $0 ^ $1 }
        case .xorRI: return fastLogic(op, wide, fastImmediate(op, wide)) { $0 ^ $1 }
        case .testRR: return fastLogic(op, wide, fastSource(op, wide), writeBack: false) { $0 & $1 }
        case .testRI: return fastLogic(op, wide, fastImmediate(op, wide), writeBack: false) { $0 & $1 }
        case .movRR:
            state.gpr[fastRegister(op.pointee.dstReg)] = fastSource(op, wide)
            return 0
        case .movRI:
            state.gpr[fastRegister(op.pointee.dstReg)] = fastImmediate(op, wide)
            return 0
        case .incR: return fastStep(op, wide, .inc) { $0 &+ 1 }
        case .decR: return fastStep(op, wide, .dec) { $0 &- 1 }
        default:
            preconditionFailure("\(handler) has no fast form here: a Jcc runs in `closeBlock`")
        }
    }

    @inline(__always) private func fastMask(_ wide: Bool) -> UInt64 { wide ? .max : 0xFFFF_FFFF }

    /// A fast form's register number: always below 16, and masked so that the compiler knows
    /// it and drops the bounds check.
    @inline(__always) private func fastRegister(_ r: UInt8) -> Int { Int(r & 15) }

    @inline(__always) private func fastSource(_ op: UnsafePointer<Op>, _ wide: Bool) -> UInt64 {
        state.gpr[fastRegister(op.pointee.srcReg)] & fastMask(wide)
    }

    @inline(__always) private func fastImmediate(_ op: UnsafePointer<Op>, _ wide: Bool) -> UInt64 {
        UInt64(bitPattern: op.pointee.imm) & fastMask(wide)
    }

    /// dst := dst op src (CMP: only the flags); a 32-bit result zero-extends into bits 63:32.
    @inline(__always) private func fastArithmetic(_ op: UnsafePointer<Op>, _ wide: Bool, _ kind: LazyFlagsKind, _ b: UInt64,
                                                  writeBack: Bool = true, _ f: (UInt64, UInt64) -> UInt64) -> UInt64 {
        let d = fastRegister(op.pointee.dstReg)
        let a = state.gpr[d] & fastMask(wide)
        let r = f(a, b) & fastMask(wide)
        if writeBack { state.gpr[d] = r }
        // `kind` is `plainAdd` or `plainSub` (no carry or borrow in): `lazyCarry` is left as it is.
        assert(kind == .plainAdd || kind == .plainSub)
        lazyKind = kind
        lazyA = a
        lazyB = b
        lazyResult = r
        lazySize = wide ? 8 : 4
        return r
    }

    /// AND, OR, XOR (TEST: only the flags): only the result and size matter to the flags.
    @inline(__always) private func fastLogic(_ op: UnsafePointer<Op>, _ wide: Bool, _ b: UInt64, writeBack: Bool = true,
                                             _ f: (UInt64, UInt64) -> UInt64) -> UInt64 {
        let d = fastRegister(op.pointee.dstReg)
        let r = f(state.gpr[d] & fastMask(wide), b)
        if writeBack { state.gpr[d] = r }
        lazyKind = .logic
        lazyResult = r
        lazySize = wide ? 8 : 4
        return r
    }

    /// INC, DEC: CF is kept in the pending record, found where the block's decoding said
    /// (`carryHint`).
    @inline(__always) private func fastStep(_ op: UnsafePointer<Op>, _ wide: Bool, _ kind: LazyFlagsKind,
                                            _ f: (UInt64) -> UInt64) -> UInt64 {
        let d = fastRegister(op.pointee.dstReg)
        let a = state.gpr[d] & fastMask(wide)
        let r = f(a) & fastMask(wide)
        let cf = hintedCarryFlag(op)
        state.gpr[d] = r
        // INC and DEC's pending flags read neither `lazyB` (it is 1) nor `lazyA` (the result
        // less or plus one), so neither is stored.
        lazyKind = kind
        lazyResult = r
        lazySize = wide ? 8 : 4
        lazyCarry = cf
        return r
    }

    /// CF as `carryFlag` computes it from the pending flags, taken the short way the Op's
    /// `carryHint` names: the last instruction before this one in its block that writes CF
    /// is a fast form, so its kind is known without reading it.
    @inline(__always) private func hintedCarryFlag(_ op: UnsafePointer<Op>) -> UInt64 {
        // The two hints loops need most (after a logical instruction, after SUB or CMP) by one
        // compare and a select; written as a chain of equality tests, the compiler makes a
        // jump table of them all. `unknown` (0) wraps to 255 here.
        let h = op.pointee.carryHint &- CarryHint.clear.rawValue
        if h <= 1 { return h == 0 || lazyA >= lazyB ? 0 : RFLAGS.CF }
        if h == CarryHint.kept.rawValue &- CarryHint.clear.rawValue { return lazyCarry }
        if h == CarryHint.carry.rawValue &- CarryHint.clear.rawValue { return lazyResult < lazyA ? RFLAGS.CF : 0 }
        // VMsucceed leaves the flags pending as a logical result (CF = 0); anything else, a
        // VMfail or a fault that left the flags as they were, the long way.
        if h == CarryHint.vmStatus.rawValue &- CarryHint.clear.rawValue && lazyKind == .logic { return 0 }
        return carryFlag
    }
}

/// Where a fast INC or DEC in a cached block finds the CF it keeps (SDM Vol. 2 "INC", "DEC":
/// CF is not affected), worked out when the block is decoded from the last instruction before
/// it in the block that writes CF (`decodeBlock`, with `CarryHint.after`).
///
/// Only the threaded handlers use it. They run a block's Ops in order, from its start or on
/// from an exception (which changes no flag), with no hook that could change RFLAGS in
/// between. The instruction a hint names is a fast form, which cannot fault, so it ran;
/// anything else that may write a flag makes the hint `unknown`, but for VMXON and VMXOFF,
/// whose hint (`vmStatus`) only tests for their commonest outcome first and takes every
/// other, a fault included, the long way.
enum CarryHint: UInt8 {
    /// From the pending flags, whatever they are (`carryFlag`).
    case unknown = 0
    /// After a fast AND, OR, XOR or TEST: CF = 0. (`clear` and `borrow` are adjacent:
    /// `hintedCarryFlag` tests for both at once.)
    case clear
    /// After a fast SUB or CMP (no borrow in): CF = a < b, both already truncated.
    case borrow
    /// After a fast ADD (no carry in): CF = result < a, both already truncated.
    case carry
    /// After a fast INC or DEC: the CF it kept, in `lazyCarry`.
    case kept
    /// After VMXON or VMXOFF, which may also have faulted: most often VMsucceed's flags, a
    /// logical result pending (CF = 0), tested for first.
    case vmStatus

    /// `after` for every handler, by raw value, as a table `decodeBlock` reads without a
    /// branch (on random instruction mixes the switch mispredicted): the hint, or
    /// `keepsHint` for the handlers that keep the one before them.
    nonisolated(unsafe) static let table: UnsafeMutablePointer<UInt8> = {
        let table = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
        table.initialize(repeating: CarryHint.unknown.rawValue, count: 256)
        for handler in Handler.allCases {
            let keeps = after(handler, .carry) == .carry && after(handler, .clear) == .clear
            table[Int(handler.rawValue)] = keeps ? keepsHint : after(handler, .unknown).rawValue
        }
        return table
    }()
    static let keepsHint: UInt8 = 0xFF

    /// The hint for what follows `handler`, given the hint before it.
    static func after(_ handler: Handler, _ hint: CarryHint) -> CarryHint {
        switch handler {
        case .addRR, .addRI: .carry
        case .subRR, .subRI, .cmpRR, .cmpRI: .borrow
        case .andRR, .andRI, .orRR, .orRI, .xorRR, .xorRI, .testRR, .testRI: .clear
        case .incR, .decR: .kept
        case .vmxon, .vmxoff: .vmStatus
        // These write no status flag: MOV, Jcc, CLTS, LMSW, RDMSR and WRMSR by the SDM; MOV to
        // and from a control register leaves them as they were here (the SDM calls them
        // undefined after it).
        case .movRR, .movRI, .jccNear, .movToCR, .movFromCR, .clts, .lmsw, .rdmsr, .wrmsr: hint
        default: .unknown
        }
    }
}
