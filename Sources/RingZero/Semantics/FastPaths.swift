// The register-only 32- and 64-bit forms of the commonest integer instructions, each inlined
// into its own threaded handler (ThreadedHandlers.swift). Each computes exactly what its
// generic handler (Arithmetic.swift, DataMovement.swift, ControlFlow.swift) does for that
// form, with no operand-kind or size switch and nothing that can fault; the reference path decodes without them, so the fast and
// reference paths agreeing (RobustnessTests, the fuzzer) checks them against the generic ones.

extension Machine {
    /// Run `op` as the fast form `handler`, known where it is called (a threaded handler per
    /// fast form, so the switch folds away); false for a handler that is no fast form. Only a
    /// Jcc sets RIP: the threaded loop stores the others' next address when a block ends on
    /// one.
    @discardableResult
    @inline(__always) func executeFast(_ handler: Handler, _ op: UnsafePointer<Op>) -> Bool {
        switch handler {
        case .addRR: fastArithmetic(op, .add, fastSource(op)) { $0 &+ $1 }
        case .addRI: fastArithmetic(op, .add, fastImmediate(op)) { $0 &+ $1 }
        case .subRR: fastArithmetic(op, .sub, fastSource(op)) { $0 &- $1 }
        case .subRI: fastArithmetic(op, .sub, fastImmediate(op)) { $0 &- $1 }
        case .cmpRR: fastArithmetic(op, .sub, fastSource(op), writeBack: false) { $0 &- $1 }
        case .cmpRI: fastArithmetic(op, .sub, fastImmediate(op), writeBack: false) { $0 &- $1 }
        case .andRR: fastLogic(op, fastSource(op)) { $0 & $1 }
        case .andRI: fastLogic(op, fastImmediate(op)) { $0 & $1 }
        case .orRR: fastLogic(op, fastSource(op)) { $0 | $1 }
        case .orRI: fastLogic(op, fastImmediate(op)) { $0 | $1 }
        case .xorRR: fastLogic(op, fastSource(op)) { $0 ^ $1 }
        case .xorRI: fastLogic(op, fastImmediate(op)) { $0 ^ $1 }
        case .testRR: fastLogic(op, fastSource(op), writeBack: false) { $0 & $1 }
        case .testRI: fastLogic(op, fastImmediate(op), writeBack: false) { $0 & $1 }
        case .movRR: state.gpr[Int(op.pointee.dstReg)] = fastSource(op)
        case .movRI: state.gpr[Int(op.pointee.dstReg)] = fastImmediate(op)
        case .incR: fastStep(op, .inc) { $0 &+ 1 }
        case .decR: fastStep(op, .dec) { $0 &- 1 }
        case .jccNear: takeJcc(op, conditionHolds(op.pointee.cond))
        default:
            return false
        }
        return true
    }

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

    @inline(__always) private func fastMask(_ op: UnsafePointer<Op>) -> UInt64 { op.pointee.size == 8 ? .max : 0xFFFF_FFFF }

    @inline(__always) private func fastSource(_ op: UnsafePointer<Op>) -> UInt64 { state.gpr[Int(op.pointee.srcReg)] & fastMask(op) }

    @inline(__always) private func fastImmediate(_ op: UnsafePointer<Op>) -> UInt64 { UInt64(bitPattern: op.pointee.imm) & fastMask(op) }

    /// dst := dst op src (CMP: only the flags); a 32-bit result zero-extends into bits 63:32.
    @inline(__always) private func fastArithmetic(_ op: UnsafePointer<Op>, _ kind: LazyFlagsKind, _ b: UInt64, writeBack: Bool = true,
                                                  _ f: (UInt64, UInt64) -> UInt64) {
        let d = Int(op.pointee.dstReg)
        let a = state.gpr[d] & fastMask(op)
        let r = f(a, b) & fastMask(op)
        if writeBack { state.gpr[d] = r }
        setLazyFlags(kind, a, b, r, op.pointee.size)
    }

    /// AND, OR, XOR (TEST: only the flags): only the result and size matter to the flags.
    @inline(__always) private func fastLogic(_ op: UnsafePointer<Op>, _ b: UInt64, writeBack: Bool = true, _ f: (UInt64, UInt64) -> UInt64) {
        let d = Int(op.pointee.dstReg)
        let r = f(state.gpr[d] & fastMask(op), b)
        if writeBack { state.gpr[d] = r }
        lazyKind = .logic
        lazyResult = r
        lazySize = op.pointee.size
    }

    /// INC, DEC: CF is kept in the pending record.
    @inline(__always) private func fastStep(_ op: UnsafePointer<Op>, _ kind: LazyFlagsKind, _ f: (UInt64) -> UInt64) {
        let d = Int(op.pointee.dstReg)
        let a = state.gpr[d] & fastMask(op)
        let r = f(a) & fastMask(op)
        let cf = carryFlag
        state.gpr[d] = r
        setLazyFlags(kind, a, 1, r, op.pointee.size, carry: cf)
    }
}
