// The threaded handlers: one function per handler, found through a table indexed by the Op's
// handler. The threaded loop (ThreadedLoop.swift) calls the first Op's; each calls the next
// Op's in tail position, which the compiler makes a jump. Every handler is compiled on its
// own, instead of as a case of one loop whose register allocation and layout all of them
// shared (docs/performance.md, items 20-25).

/// A threaded handler: the Op and the machine; it returns a `ThreadedStatus` raw value. Thin:
/// no context, and the Swift calling convention, so no thunk between the call and the body.
typealias ThreadedHandler = @convention(thin) (UnsafePointer<Op>, Machine) -> UInt8

/// What a threaded handler tells the loop.
enum ThreadedStatus: UInt8 {
    /// Retired; go on with the next Op of the block.
    case next = 0
    /// It raised an exception, left in `MachineCore.threadedError`; it did not retire.
    case exception
    /// It set `pendingStop`.
    case stop
    /// It retired and wrote into code: the rest of the block may be stale.
    case codeWritten
}

extension Machine {
    /// The table, by `Handler` raw value.
    nonisolated(unsafe) static let threadedHandlers: UnsafeMutablePointer<ThreadedHandler> = {
        let table = UnsafeMutablePointer<ThreadedHandler>.allocate(capacity: Handler.allCases.count)
        for handler in Handler.allCases {
            // The raw values run from 0 with no gaps, so every Op's handler has its entry.
            precondition(Int(handler.rawValue) < Handler.allCases.count)
            (table + Int(handler.rawValue)).initialize(to: threadedHandler(for: handler))
        }
        return table
    }()

    /// Each case names its handler once: the fast forms with their switch folded for that
    /// form, the mission's instructions straight to their semantics, the rest through `execute`.
    private static func threadedHandler(for handler: Handler) -> ThreadedHandler {
        switch handler {
        case .addRR: { Machine.fast($0, $1, .addRR) }
        case .addRI: { Machine.fast($0, $1, .addRI) }
        case .subRR: { Machine.fast($0, $1, .subRR) }
        case .subRI: { Machine.fast($0, $1, .subRI) }
        case .andRR: { Machine.fast($0, $1, .andRR) }
        case .andRI: { Machine.fast($0, $1, .andRI) }
        case .orRR: { Machine.fast($0, $1, .orRR) }
        case .orRI: { Machine.fast($0, $1, .orRI) }
        case .xorRR: { Machine.fast($0, $1, .xorRR) }
        case .xorRI: { Machine.fast($0, $1, .xorRI) }
        case .cmpRR: { Machine.fast($0, $1, .cmpRR) }
        case .cmpRI: { Machine.fast($0, $1, .cmpRI) }
        case .testRR: { Machine.fast($0, $1, .testRR) }
        case .testRI: { Machine.fast($0, $1, .testRI) }
        case .movRR: { Machine.fast($0, $1, .movRR) }
        case .movRI: { Machine.fast($0, $1, .movRI) }
        case .incR: { Machine.fast($0, $1, .incR) }
        case .decR: { Machine.fast($0, $1, .decR) }
        case .jccNear: { Machine.closeBlock($0, $1, taken: $1.conditionHolds($0.pointee.cond)) }
        case .movToCR: { Machine.commonCase($0, $1, .movToCR) }
        case .movFromCR: { Machine.commonCase($0, $1, .movFromCR) }
        case .clts: { Machine.commonCase($0, $1, .clts) }
        case .lmsw: { Machine.commonCase($0, $1, .lmsw) }
        case .rdmsr: { Machine.commonCase($0, $1, .rdmsr) }
        case .wrmsr: { Machine.commonCase($0, $1, .wrmsr) }
        case .vmxon: { Machine.commonCase($0, $1, .vmxon) }
        case .vmxoff: { Machine.commonCase($0, $1, .vmxoff) }
        default: { Machine.generic($0, $1, nil) }
        }
    }

    /// A fast form: it cannot fault or stop, and the loop counted it by form on entering the
    /// block. A fast form right before its block's closing Jcc (`dec rcx; jnz loop`, `cmp; jb`) runs
    /// the Jcc itself: one dispatch fewer per loop iteration.
    @inline(__always)
    private static func fast(_ op: UnsafePointer<Op>, _ m: Machine, _ handler: Handler) -> UInt8 {
        // The fast forms are 32- or 64-bit: one body for each, chosen by a branch that the
        // predictor learns per Op, instead of one body computing both widths' masks.
        let result = op.pointee.size == 8 ? m.executeFast(handler, op, wide: true) : m.executeFast(handler, op, wide: false)
        if handler.setsLoopCondition && op.pointee.restCount == 1 && op[1].handler == .jccNear {
            // JZ and JNZ read the result just computed. The other conditions materialize the
            // flags, a call, left to the outlined Jcc handler so that this one needs no stack
            // frame (docs/performance.md, item 32).
            let jcc = op + 1, cc = jcc.pointee.cond
            guard cc >> 1 == 2 else { return closeBlockOutlined(jcc, m) }
            let zf = result == 0
            return closeBlock(jcc, m, taken: cc & 1 == 0 ? zf : !zf)
        }
        return next(op, m)
    }

    @inline(never)
    private static func closeBlockOutlined(_ op: UnsafePointer<Op>, _ m: Machine) -> UInt8 {
        closeBlock(op, m, taken: m.conditionHolds(op.pointee.cond))
    }

    /// A mission instruction whose common case its semantics run by a shortcut
    /// (`movToCRCommonCase`, `movFromCRCommonCase`, `cltsCommonCase`, `lmswCommonCase`,
    /// `rdmsrCommonCase`, `wrmsrCommonCase`, `vmxonCommonCase`, `vmxoffCommonCase`): the
    /// shortcut makes no call, so the handler needs no stack frame and its registers no saving.
    /// Anything else goes to the generic handler, outlined (`inFull`), which runs the
    /// instruction in full.
    @inline(__always)
    private static func commonCase(_ op: UnsafePointer<Op>, _ m: Machine, _ handler: Handler) -> UInt8 {
        assert(!m.hooks.isActive, "the shortcuts leave hooks to the full semantics")
        let done = switch handler {
        case .movToCR: m.movToCRCommonCase(op)
        case .movFromCR: m.movFromCRCommonCase(op)
        case .clts: m.cltsCommonCase(op)
        case .lmsw: m.lmswCommonCase(op)
        case .rdmsr: m.rdmsrCommonCase(op)
        case .wrmsr: m.wrmsrCommonCase(op)
        case .vmxon: m.vmxonCommonCase(op)
        case .vmxoff: m.vmxoffCommonCase(op)
        default: false
        }
        guard done else { return inFull(op, m, handler) }
        m.retiredByForm[Int(op.pointee.form)] &+= 1
        return next(op, m)
    }

    /// The full semantics, when a shortcut refused: out of line, so that the shortcut's
    /// handler makes no call of its own.
    @inline(never)
    private static func inFull(_ op: UnsafePointer<Op>, _ m: Machine, _ handler: Handler) -> UInt8 {
        generic(op, m, handler)
    }

    /// A Jcc, which always ends its block: taken back to the start of a block that loops to
    /// itself (`SelfLoop`), it runs the block again, while the limits allow; otherwise the
    /// loop goes on from RIP.
    @inline(__always)
    private static func closeBlock(_ op: UnsafePointer<Op>, _ m: Machine, taken: Bool) -> UInt8 {
        m.takeJcc(op, taken)
        // Where the Jcc went, as a value: read back from RIP, it would wait for the store.
        let rip = taken ? UInt64(bitPattern: op.pointee.imm) : op.pointee.nextAddress
        let core = m.core
        // Both limits were solved for the turns when the loop was entered (`SelfLoop`); the
        // turn is counted later, with the others (`settleSelfLoop`).
        guard core.pointee.selfLoop.turnsLeft > 0, rip == core.pointee.selfLoop.address,
              Machine.stackAddress() > core.pointee.selfLoop.stackFloor else { return ThreadedStatus.next.rawValue }
        let first = core.pointee.selfLoop.first.unsafelyUnwrapped
        core.pointee.selfLoop.turnsLeft -= 1
        return core.pointee.threadedTable[Int(first.pointee.handler.rawValue)](first, m)
    }

    /// Go on with the block's next Op, if there is one: a call in tail position, so each
    /// handler's own indirect jump picks the next one. An optimized build makes it a jump,
    /// provided the handler has no stack protector (no local whose address is taken: see
    /// `execute(_:at:)`); a debug build always makes it a call. So a debug build's block
    /// can leave up to 64 frames on the stack, and a self-loop's turns more, which
    /// `SelfLoop.stackFloor` bounds whatever the compiler did.
    @inline(__always)
    private static func next(_ op: UnsafePointer<Op>, _ m: Machine) -> UInt8 {
        if op.pointee.restCount == 0 { return ThreadedStatus.next.rawValue }
        let following = op + 1
        return m.core.pointee.threadedTable[Int(following.pointee.handler.rawValue)](following, m)
    }

    /// The counters are exact again once the handler that read them is done.
    @inline(__always)
    private static func clearCountedAhead(_ m: Machine) {
        m.core.pointee.instructionsCountedAhead = 0
        m.core.pointee.cyclesCountedAhead = 0
    }

    /// Leave the block at `op`.
    @inline(never)
    private static func leave(_ op: UnsafePointer<Op>, _ m: Machine, _ status: ThreadedStatus) -> UInt8 {
        m.core.pointee.threadedStop = op
        return status.rawValue
    }

    /// A generic handler with RIP past the instruction, as `step` runs it: `known`, named by
    /// the table so that `execute`'s switch folds to it, or (nil) whichever the Op holds. The
    /// loop counted the whole block when it entered it; a handler that reads the counters is
    /// told how much of that is this instruction and the ones after it (`cyclesCountedAhead`).
    @inline(__always)
    private static func generic(_ op: UnsafePointer<Op>, _ m: Machine, _ known: Handler?) -> UInt8 {
        let handler = known ?? op.pointee.handler
        let readsCounters = handler.readsCounters
        // A register-only instruction does not read RIP; the loop stores it if the block ends
        // there.
        if !handler.registerOnly { m.state.rip = op.pointee.nextAddress }
        if readsCounters {
            m.settleSelfLoop()
            m.core.pointee.instructionsCountedAhead = UInt64(op.pointee.restCount) &+ 1
            m.core.pointee.cyclesCountedAhead = UInt64(op.pointee.restCycles) &+ UInt64(op.pointee.cost)
        }
        do throws(GuestException) {
            if let known { try m.execute(known, at: op) } else { try m.execute(op) }
        } catch {
            if readsCounters { clearCountedAhead(m) }
            m.core.pointee.threadedError = error
            return leave(op, m, .exception)
        }
        if readsCounters { clearCountedAhead(m) }
        // No hook runs in the threaded loop, so only a handler that stops by itself can stop.
        if !handler.registerOnly && m.pendingStop != nil { return leave(op, m, .stop) }
        m.retiredByForm[Int(op.pointee.form)] &+= 1
        if !handler.registerOnly && m.memory.codeWritten { return leave(op, m, .codeWritten) }
        return next(op, m)
    }
}
