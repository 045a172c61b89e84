// Lazily computed status flags (design.md: "remember the last result and operands; materialize
// RFLAGS only when read").
//
// An ADD, SUB, CMP, logical instruction, INC, DEC or NEG records its kind, operands, result and
// size instead of computing CF, PF, AF, ZF, SF and OF. While a record is pending the six status
// bits of `state.rflags` are stale; every other RFLAGS bit is always current. Whatever reads a
// status flag goes through `conditionHolds`, `carryFlag` or `materializeFlags()`, and whatever
// writes only some status flags materializes first; the run loop materializes before it returns
// and before it calls a hook, so `state` is always exact outside the loop.

/// Which instruction left the pending status flags.
enum LazyFlagsKind: UInt8 {
    /// `state.rflags` holds the status flags.
    case none
    /// ADD/ADC: a + b + carry.
    case add
    /// SUB/SBB/CMP/NEG: a - b - borrow.
    case sub
    /// AND/OR/XOR/TEST: CF = OF = AF = 0.
    case logic
    /// INC/DEC: like ADD/SUB of 1, with CF kept (in `lazyCarry`).
    case inc
    case dec
    /// ADD, SUB and CMP of the fast forms: as `add` and `sub` with no carry or borrow in, so
    /// their handlers need not store `lazyCarry`.
    case plainAdd
    case plainSub
}

extension Machine {
    /// Record the flags of an arithmetic result without computing them. `result` is within
    /// the operand size (every producer masks it), so ZF is `result == 0` with no mask.
    @inline(__always) func setLazyFlags(_ kind: LazyFlagsKind, _ a: UInt64, _ b: UInt64, _ result: UInt64, _ size: UInt8, carry: UInt64 = 0) {
        lazyKind = kind
        lazyA = a
        lazyB = b
        lazyResult = result
        lazySize = size
        lazyCarry = carry
    }

    /// Compute the pending status flags into `state.rflags`.
    @inline(__always) func materializeFlags() {
        if lazyKind != .none { materializePendingFlags() }
    }

    @inline(never) func materializePendingFlags() {
        let size = lazySize
        let flags: UInt64
        switch lazyKind {
        case .none: return
        case .add: flags = StatusFlags.add(lazyA, lazyB, carry: lazyCarry, size).1
        case .sub: flags = StatusFlags.sub(lazyA, lazyB, borrow: lazyCarry, size).1
        case .plainAdd: flags = StatusFlags.add(lazyA, lazyB, carry: 0, size).1
        case .plainSub: flags = StatusFlags.sub(lazyA, lazyB, borrow: 0, size).1
        case .logic: flags = StatusFlags.logic(lazyResult, size)
        // INC and DEC's operand is the result less or plus one (within the size, which the
        // flags' computation masks to): a fast INC or DEC stores no `lazyA`.
        case .inc: flags = (StatusFlags.add(lazyResult &- 1, 1, carry: 0, size).1 & ~RFLAGS.CF) | lazyCarry
        case .dec: flags = (StatusFlags.sub(lazyResult &+ 1, 1, borrow: 0, size).1 & ~RFLAGS.CF) | lazyCarry
        }
        state.rflags = (state.rflags & ~RFLAGS.status) | flags
        lazyKind = .none
    }

    /// CF (as the bit `RFLAGS.CF`) without materializing the others.
    @inline(__always) var carryFlag: UInt64 { Self.carryFlag(core) }

    /// `carryFlag` of the core's pending flags (the fast forms reach it through `FastCore`).
    @inline(__always) static func carryFlag(_ core: UnsafeMutablePointer<MachineCore>) -> UInt64 {
        let c = core
        switch c.pointee.lazyKind {
        case .none: return c.pointee.state.rflags & RFLAGS.CF
        case .logic: return 0
        case .inc, .dec: return c.pointee.lazyCarry
        // The operands are compared at the top of the word, shifted left past the bits above
        // the operand size, instead of masked: one register fewer, so that a fast INC or DEC,
        // which inlines this, saves none on entry (docs/performance.md, item 47).
        case .add:
            // a + b + c carries out exactly when the truncated sum is below a (c = 0) or at
            // most a (c = 1).
            let unused = 64 &- c.pointee.lazySize &* 8
            let a = c.pointee.lazyA &<< unused
            let r = c.pointee.lazyResult &<< unused
            return r < a || (c.pointee.lazyCarry != 0 && r == a) ? RFLAGS.CF : 0
        case .sub:
            let unused = 64 &- c.pointee.lazySize &* 8
            let a = c.pointee.lazyA &<< unused, b = c.pointee.lazyB &<< unused
            return a < b || (c.pointee.lazyCarry != 0 && a == b) ? RFLAGS.CF : 0
        // The fast forms keep their operands and result truncated already.
        case .plainAdd: return c.pointee.lazyResult < c.pointee.lazyA ? RFLAGS.CF : 0
        case .plainSub: return c.pointee.lazyA < c.pointee.lazyB ? RFLAGS.CF : 0
        }
    }

    /// Whether condition code `cc` holds. ZF (JZ/JNZ and friends) is answered from the pending
    /// result directly; other conditions materialize.
    @inline(__always) func conditionHolds(_ cc: UInt8) -> Bool {
        if lazyKind != .none {
            if cc >> 1 == 2 {
                let zf = lazyResult == 0
                return cc & 1 == 0 ? zf : !zf
            }
            materializePendingFlags()
        }
        return StatusFlags.condition(cc, state.rflags)
    }

    /// ZF without materializing the others.
    @inline(__always) var zeroFlag: Bool {
        lazyKind == .none ? state.rflags & RFLAGS.ZF != 0 : lazyResult == 0
    }
}
