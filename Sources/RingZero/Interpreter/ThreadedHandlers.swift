// The threaded handlers: one function per handler, found through a table indexed by the Op's
// handler, and kept in each cached Op (`Op.entry`). The threaded loop (ThreadedLoop.swift)
// calls the first Op's; each calls the next Op's in tail position, which the compiler makes a
// jump. Every handler is compiled on its
// own, instead of as a case of one loop whose register allocation and layout all of them
// shared (docs/performance.md, items 20-25).

/// A threaded handler: the Op, the machine and its core (`Machine.core`, passed along in a
/// register so that the fast forms need not load it: `FastCore`); it returns a
/// `ThreadedStatus` raw value. Thin: no context, and the Swift calling convention, so no thunk
/// between the call and the body.
typealias ThreadedHandler = @convention(thin) (UnsafePointer<Op>, Machine, UnsafeMutablePointer<MachineCore>) -> UInt8

extension Op {
    /// Give a cached Op its threaded handler: the one at `index` (`ThreadedIndex`).
    @inline(__always)
    mutating func thread(_ index: UInt8, _ table: UnsafeMutablePointer<ThreadedHandler>) {
        entry = unsafeBitCast(table[Int(index)], to: UInt.self)
    }

    /// The threaded handler `thread` gave a cached Op.
    @inline(__always)
    var threadedHandler: ThreadedHandler {
        assert(entry != 0, "an Op outside the cache has no threaded handler")
        return unsafeBitCast(entry, to: ThreadedHandler.self)
    }
}

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

/// Where an Op's threaded handler sits in `Machine.threadedHandlers` (found when its block is
/// decoded, and kept in the Op as the handler itself: `Op.thread`): at its handler's raw value, or, for a fast form, at one of its
/// variants past the handlers, so that each handler is one straight body with nothing left to
/// decide at run time but its operands.
enum ThreadedIndex {
    /// The fast forms with a width, `addRR` to `decR` (`jccNear`, the last handler, has none).
    static let fastForms = Int(Handler.jccNear.rawValue - Handler.addRR.rawValue)
    /// The 64-bit forms sit at their handlers' raw values; the 32-bit ones from here. (Past
    /// `jccNear`, the last handler: written so, not as `allCases.count`, it is a constant the
    /// compiler folds, where a computed one is read through a lazy initializer's check.)
    static let narrow = Int(Handler.jccNear.rawValue) + 1
    /// A fast form that closes its block's loop (`Handler.setsLoopCondition`, right before the
    /// block's closing Jcc) and runs that Jcc itself: by the Jcc's condition, 64-bit then 32-bit.
    static let closing = narrow + fastForms
    /// `mov ecx, imm32` right before RDMSR or WRMSR in its block (how code names an MSR):
    /// one handler runs both, the MSR instruction's without a dispatch of its own.
    static let movECXThenRDMSR = closing + ClosingJcc.allCases.count * 2 * fastForms
    static let movECXThenWRMSR = movECXThenRDMSR + 1
    /// VMXON whose operand's linear address is its displacement, known valid when the block
    /// was decoded (`absoluteAddress`): no base, index or FS/GS base to add, inside the
    /// address size, canonical. `vmxon [rel ptr]`, as VMX-enable code writes it.
    static let vmxonAtAbsoluteAddress = movECXThenWRMSR + 1
    /// The end marker after every cached block's Ops (`decodeBlock`): it returns to the loop.
    static let blockEnd = vmxonAtAbsoluteAddress + 1
    static let count = blockEnd + 1

    /// The index for an Op decoded right after `previous` in the same block, when the pair
    /// has a handler of its own: `previous`'s new index (else nil).
    @inline(__always)
    static func pair(_ previous: Op, then handler: Handler) -> UInt8? {
        // The tests combined without short-circuits: one branch, rarely taken (`decodeBlock`).
        let movECX = (previous.handler == .movRI) & (previous.size == 4) & (previous.dstReg == GPR.rcx.rawValue)
        let msr = (handler == .rdmsr) | (handler == .wrmsr)
        guard movECX & msr else { return nil }
        return UInt8(handler == .rdmsr ? movECXThenRDMSR : movECXThenWRMSR)
    }

    /// The index for `op`; `closing`: its block's closing Jcc, when `op` is the Op right
    /// before it.
    static func of(_ op: Op, closing jcc: ClosingJcc? = nil) -> UInt8 {
        let handler = op.handler
        if let jcc, handler.isFast && handler != .jccNear && handler.setsLoopCondition {
            return UInt8(closing(form(handler), jcc, wide: op.size == 8))
        }
        return withUnsafePointer(to: op) { of($0) }
    }

    /// The index for the Op at `op`, outside a loop's close, read where it lies. `decodeBlock`
    /// calls this for every Op it writes: given the Op by value, the call was not inlined and
    /// copied all 64 bytes of it to the stack first.
    @inline(__always)
    static func of(_ op: UnsafePointer<Op>) -> UInt8 {
        let handler = op.pointee.handler
        // Chosen by selects rather than branches: `decodeBlock` runs this on every Op, and on
        // fuzz cases (random instruction mixes) the branches mispredicted.
        let narrowed = handler.isFast & (handler != .jccNear) & (op.pointee.size != 8)
        let narrowIndex = UInt8(truncatingIfNeeded: narrow &+ Int(handler.rawValue) &- Int(Handler.addRR.rawValue))
        let index = narrowed ? narrowIndex : handler.rawValue
        let absolute = (handler == .vmxon) & absoluteAddressFits(op)
        return absolute ? UInt8(vmxonAtAbsoluteAddress) : index
    }

    /// `absoluteAddress(op) != nil`, read in place.
    @inline(__always)
    static func absoluteAddressFits(_ op: UnsafePointer<Op>) -> Bool {
        let disp = op.pointee.disp, addressSize = op.pointee.addressSize
        let address = UInt64(bitPattern: disp)
        let alone = (op.pointee.memBase == Op.noRegister) & (op.pointee.memIndex == Op.noRegister)
            & (op.pointee.segment < SegmentOverride.fs.rawValue)
        let fitsSize = (addressSize == 8) | (address >> (UInt64(addressSize & 7) * 8) == 0)
        return alone & (disp >= 0) & fitsSize & (address >> 47 == 0)
    }

    /// The linear address of `op`'s memory operand when it is the displacement alone, the
    /// same wherever the Op runs: neither base nor index, no FS or GS base, and a displacement
    /// that the address size does not cut and that is canonical (the checks
    /// `canonicalLinearAddress` would make); else nil.
    @inline(__always)
    static func absoluteAddress(_ op: Op) -> UInt64? {
        withUnsafePointer(to: op) { absoluteAddressFits($0) } ? UInt64(bitPattern: op.disp) : nil
    }

    /// A fast form's place among them, 0 for `addRR`.
    @inline(__always)
    static func form(_ handler: Handler) -> Int { Int(handler.rawValue - Handler.addRR.rawValue) }

    /// Where the fast form `form`'s variant closing a loop with `jcc` is, at a width.
    @inline(__always)
    static func closing(_ form: Int, _ jcc: ClosingJcc, wide: Bool) -> Int {
        closing + (Int(jcc.rawValue) * 2 + (wide ? 0 : 1)) * fastForms + form
    }
}

/// The closing Jcc a loop-closing fast form runs, as far as its handler needs to know: JNZ
/// and JZ from the result, any other condition from the materialized flags.
enum ClosingJcc: UInt8, CaseIterable {
    case notZero, zero, other

    init(cond: UInt8) {
        self = cond == 5 ? .notZero : cond == 4 ? .zero : .other
    }
}

extension Machine {
    /// The table, by `ThreadedIndex`.
    nonisolated(unsafe) static let threadedHandlers: UnsafeMutablePointer<ThreadedHandler> = {
        precondition(ThreadedIndex.narrow == Handler.allCases.count && ThreadedIndex.count <= 256,
                     "the variants follow the last handler, and an Op's threaded index is a byte")
        let table = UnsafeMutablePointer<ThreadedHandler>.allocate(capacity: ThreadedIndex.count)
        for handler in Handler.allCases {
            // The raw values run from 0 with no gaps, so every Op's handler has its entry.
            precondition(Int(handler.rawValue) < Handler.allCases.count)
            guard handler.isFast && handler != .jccNear else {
                (table + Int(handler.rawValue)).initialize(to: threadedHandler(for: handler))
                continue
            }
            let form = ThreadedIndex.form(handler)
            (table + Int(handler.rawValue)).initialize(to: fastVariant(handler, .wide))
            (table + ThreadedIndex.narrow + form).initialize(to: fastVariant(handler, .narrow))
            for jcc in ClosingJcc.allCases {
                for wide in [true, false] {
                    (table + ThreadedIndex.closing(form, jcc, wide: wide)).initialize(to: fastVariant(handler, .closing(jcc, wide: wide)))
                }
            }
        }
        (table + ThreadedIndex.movECXThenRDMSR).initialize(to: { Machine.movECXThen($0, $1, $2, .rdmsr) })
        (table + ThreadedIndex.movECXThenWRMSR).initialize(to: { Machine.movECXThen($0, $1, $2, .wrmsr) })
        (table + ThreadedIndex.vmxonAtAbsoluteAddress).initialize(to: { Machine.commonCase($0, $1, $2, .vmxon, absolute: true) })
        (table + ThreadedIndex.blockEnd).initialize(to: { _, _, _ in ThreadedStatus.next.rawValue })
        return table
    }()

    /// `mov ecx, imm32` and the RDMSR or WRMSR after it: the MOV as its 32-bit fast form, then
    /// the MSR instruction's handler for the next Op, inline (`commonCase`), which counts it,
    /// records it if it faults, and goes on from it.
    @inline(__always)
    private static func movECXThen(_ op: UnsafePointer<Op>, _ m: Machine, _ core: UnsafeMutablePointer<MachineCore>, _ msr: Handler) -> UInt8 {
        FastCore(core: core).executeFast(.movRI, op, wide: false)
        return commonCase(op + 1, m, core, msr)
    }

    /// The places of a fast form in the table (`ThreadedIndex`).
    enum FastVariant { case wide, narrow, closing(ClosingJcc, wide: Bool) }

    // `fastVariant`, the fast forms' handlers, is generated: ThreadedVariants.swift.

    /// Each case names its handler once: the mission's instructions straight to their
    /// semantics, the rest through `execute` (the fast forms are in `fastVariant`).
    private static func threadedHandler(for handler: Handler) -> ThreadedHandler {
        switch handler {
        case .jccNear: { Machine.closeBlock($0, $1, $2, taken: $1.conditionHolds($0.pointee.cond)) }
        case .movToCR: { Machine.commonCase($0, $1, $2, .movToCR) }
        case .movFromCR: { Machine.commonCase($0, $1, $2, .movFromCR) }
        case .clts: { Machine.commonCase($0, $1, $2, .clts) }
        case .lmsw: { Machine.commonCase($0, $1, $2, .lmsw) }
        case .rdmsr: { Machine.commonCase($0, $1, $2, .rdmsr) }
        case .wrmsr: { Machine.commonCase($0, $1, $2, .wrmsr) }
        case .vmxon: { Machine.commonCase($0, $1, $2, .vmxon) }
        case .vmxoff: { Machine.commonCase($0, $1, $2, .vmxoff) }
        default: { Machine.generic($0, $1, $2, nil) }
        }
    }

    /// A fast form of width `wide`: it cannot fault or stop, and the loop counted it by form
    /// on entering the block.
    @inline(__always)
    static func fast(_ op: UnsafePointer<Op>, _ m: Machine, _ core: UnsafeMutablePointer<MachineCore>, _ handler: Handler, _ wide: Bool) -> UInt8 {
        FastCore(core: core).executeFast(handler, op, wide: wide)
        return next(op, m, core)
    }

    /// A fast form right before its block's closing Jcc (`dec rcx; jnz loop`, `cmp; jb`),
    /// which it runs itself: one dispatch fewer per loop iteration, decided when the block
    /// was decoded (`ThreadedIndex`), with the kind of condition (`ClosingJcc`).
    @inline(__always)
    static func closing(_ op: UnsafePointer<Op>, _ m: Machine, _ core: UnsafeMutablePointer<MachineCore>, _ handler: Handler, _ wide: Bool,
                                _ jcc: ClosingJcc) -> UInt8 {
        let result = FastCore(core: core).executeFast(handler, op, wide: wide)
        // JZ and JNZ read the result just computed. The other conditions materialize the
        // flags, a call, left to the outlined Jcc handler so that this one needs no stack
        // frame (docs/performance.md, item 32).
        switch jcc {
        case .notZero: return closeBlock(op + 1, m, core, taken: result != 0)
        case .zero: return closeBlock(op + 1, m, core, taken: result == 0)
        case .other: return closeBlockOutlined(op + 1, m, core)
        }
    }

    @inline(never)
    private static func closeBlockOutlined(_ op: UnsafePointer<Op>, _ m: Machine, _ core: UnsafeMutablePointer<MachineCore>) -> UInt8 {
        closeBlock(op, m, core, taken: m.conditionHolds(op.pointee.cond))
    }

    /// A mission instruction whose common case its semantics run by a shortcut
    /// (`movToCRCommonCase`, `movFromCRCommonCase`, `cltsCommonCase`, `lmswCommonCase`,
    /// `rdmsrCommonCase`, `wrmsrCommonCase`, `vmxonCommonCase`, `vmxoffCommonCase`): the
    /// shortcut makes no call, so the handler needs no stack frame and its registers no saving.
    /// Anything else goes to the generic handler, outlined (`inFull`), which runs the
    /// instruction in full.
    @inline(__always)
    private static func commonCase(_ op: UnsafePointer<Op>, _ m: Machine, _ core: UnsafeMutablePointer<MachineCore>, _ handler: Handler,
                                   absolute: Bool = false) -> UInt8 {
        assert(!m.hooks.isActive, "the shortcuts leave hooks to the full semantics")
        let done = switch handler {
        case .movToCR: m.movToCRCommonCase(op)
        case .movFromCR: m.movFromCRCommonCase(op)
        case .clts: m.cltsCommonCase(op)
        case .lmsw: m.lmswCommonCase(op)
        case .rdmsr: m.rdmsrCommonCase(op)
        case .wrmsr: m.wrmsrCommonCase(op)
        case .vmxon: m.vmxonCommonCase(op, absolute: absolute)
        case .vmxoff: m.vmxoffCommonCase(op)
        default: false
        }
        guard done else { return inFull(op, m, core, handler) }
        m.retiredByForm[Int(op.pointee.form)] &+= 1
        return next(op, m, core)
    }

    /// The full semantics, when a shortcut refused: out of line, so that the shortcut's
    /// handler makes no call of its own.
    @inline(never)
    private static func inFull(_ op: UnsafePointer<Op>, _ m: Machine, _ core: UnsafeMutablePointer<MachineCore>, _ handler: Handler) -> UInt8 {
        generic(op, m, core, handler)
    }

    /// A Jcc, which always ends its block: taken back to the start of a block that loops to
    /// itself (`SelfLoop`), it runs the block again, while the limits allow; otherwise the
    /// loop goes on from RIP.
    @inline(__always)
    private static func closeBlock(_ op: UnsafePointer<Op>, _ m: Machine, _ core: UnsafeMutablePointer<MachineCore>, taken: Bool) -> UInt8 {
        // Both limits were solved for the turns when the loop was entered (`SelfLoop`); the
        // turn is counted later, with the others (`settleSelfLoop`). RIP is left as it was:
        // nothing in the block reads it before storing it (a generic handler stores its next
        // address, a register-only or fast one reads none, an exception takes its Op's), and
        // the Jcc that leaves the loop stores it below.
        // Turns are left only while the block the loop entered at its start loops to itself
        // (`runThreaded`), so a taken closing Jcc goes back to its start.
        if taken, core.pointee.selfLoop.turnsLeft > 0, Machine.stackAddress() > core.pointee.selfLoop.stackFloor {
            assert(UInt64(bitPattern: op.pointee.imm) == core.pointee.selfLoop.first.unsafelyUnwrapped.pointee.address)
            core.pointee.selfLoop.turnsLeft &-= 1
            return core.pointee.selfLoop.firstHandler.unsafelyUnwrapped(core.pointee.selfLoop.first.unsafelyUnwrapped, m, core)
        }
        return leaveByJcc(op, m, taken)
    }

    /// The Jcc that ends a block, once no turn of a self-loop follows: out of line, so that
    /// what it needs (RIP, the not-taken charge) costs the turns no saved register.
    @inline(never)
    private static func leaveByJcc(_ op: UnsafePointer<Op>, _ m: Machine, _ taken: Bool) -> UInt8 {
        m.takeJcc(op, taken)
        return ThreadedStatus.next.rawValue
    }

    /// Go on with the block's next Op, if there is one: a call in tail position, so each
    /// handler's own indirect jump picks the next one. An optimized build makes it a jump,
    /// provided the handler has no stack protector (no local whose address is taken: see
    /// `execute(_:at:)`); a debug build always makes it a call. So a debug build's block
    /// can leave up to 64 frames on the stack, and a self-loop's turns more, which
    /// `SelfLoop.stackFloor` bounds whatever the compiler did.
    @inline(__always)
    private static func next(_ op: UnsafePointer<Op>, _ m: Machine, _ core: UnsafeMutablePointer<MachineCore>) -> UInt8 {
        // After a block's last Op comes its end marker, whose handler returns to the loop.
        let following = op + 1
        return following.pointee.threadedHandler(following, m, core)
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
    private static func generic(_ op: UnsafePointer<Op>, _ m: Machine, _ core: UnsafeMutablePointer<MachineCore>, _ known: Handler?) -> UInt8 {
        let handler = known ?? op.pointee.handler
        let readsCounters = handler.readsCounters
        // A register-only instruction does not read RIP; the loop stores it if the block ends
        // there.
        if !handler.registerOnly { m.state.rip = op.pointee.nextAddress }
        if readsCounters {
            m.settleSelfLoop()
            core.pointee.instructionsCountedAhead = UInt64(op.pointee.restCount) &+ 1
            core.pointee.cyclesCountedAhead = UInt64(op.pointee.restCycles) &+ UInt64(op.pointee.cost)
        }
        do throws(GuestException) {
            if let known { try m.execute(known, at: op) } else { try m.execute(op) }
        } catch {
            if readsCounters { clearCountedAhead(m) }
            core.pointee.threadedError = error
            return leave(op, m, .exception)
        }
        // It may have changed CPL, RFLAGS.VM or the facts (a far jump, POPF, MOV to CR0...).
        m.refreshShortcutGate()
        if readsCounters { clearCountedAhead(m) }
        // No hook runs in the threaded loop, so only a handler that stops by itself can stop.
        if !handler.registerOnly && m.pendingStop != nil { return leave(op, m, .stop) }
        m.retiredByForm[Int(op.pointee.form)] &+= 1
        if !handler.registerOnly && m.memory.codeWritten { return leave(op, m, .codeWritten) }
        return next(op, m, core)
    }
}
