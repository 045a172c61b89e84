import CStackAddress

extension Machine {
    /// The threaded loop: a block's first Op's handler is called through `threadedHandlers`,
    /// and each handler calls the next Op's, to the end of the block; then the next block, for
    /// as long as it is cached and fits the limits. A block's instructions, decoded cycles and
    /// fast forms are counted when it is entered (a few adds instead of some per instruction);
    /// leaving it early takes back what did not run (`leaveThreaded`). After an exception
    /// taken under `continue`, the rest of the block runs from the next Op, counted from what
    /// the faulting Op recorded about the Ops after it.
    @inline(never)
    func runThreaded(_ first: OpCache.Block, mode: CodeMode, _ options: RunOptions,
                     _ faults: UnsafeMutablePointer<FaultList>) -> Step {
        refreshShortcutGate()
        // Nothing here decodes, so the arena stays where it is.
        let ops = cache.base
        var block = first
        var entry = UnsafePointer(ops + block.start)
        var count = UInt64(block.count), cycles = block.baseCycles, alu = block.fastALU, jcc = block.fastJcc
        while true {
            countEntered(instructions: count, cycles: cycles, fastALU: alu, fastJcc: jcc)
            let start = UnsafePointer(ops + block.start)
            let last = start + (block.count - 1)
            if entry == start && last.pointee.handler == .jccNear && UInt64(bitPattern: last.pointee.imm) == start.pointee.address
                && start.pointee.address != endAddress {
                core.pointee.selfLoop = SelfLoop(block, first: start, handler: start.pointee.threadedHandler, options,
                                                 faults: faults.pointee.count, instructions: instructionCount, cycles: cycleCount)
            } else {
                core.pointee.selfLoop.turnsLeft = 0
                core.pointee.selfLoop.turnsGranted = 0
            }
            let status = entry.pointee.threadedHandler(entry, self, core)
            // The turns a self-loop ran are counted here, before anything reads the counters.
            settleSelfLoop()
            if status != ThreadedStatus.next.rawValue {
                let (step, restRuns) = leaveThreaded(status, options, faults)
                // The block's dearest cost stands in for the rest's.
                guard restRuns, let p = core.pointee.threadedStop, p.pointee.restCount > 0,
                      fitsLimits(instructions: UInt64(p.pointee.restCount), cost: block.cost, options, faults: faults.pointee.count)
                else { return step }
                entry = p + 1
                count = UInt64(p.pointee.restCount)
                cycles = UInt64(p.pointee.restCycles)
                alu = UInt64(p.pointee.restFastALU)
                jcc = last.pointee.handler == .jccNear ? 1 : 0
                continue
            }
            let handler = last.pointee.handler
            if handler.isFast {
                // Fast forms leave RIP alone, except a Jcc; and they cannot change the mode.
                if handler != .jccNear { state.rip = last.pointee.nextAddress }
            } else {
                // So do the register-only instructions; they may change the mode (MOV to CR0).
                if handler.registerOnly { state.rip = last.pointee.nextAddress }
                if state.codeMode != mode { return .next }
            }
            let rip = state.rip
            guard rip != endAddress else { return .next }
            // A loop back to the block's own start needs no lookup.
            if rip != start.pointee.address {
                guard let next = cache.block(at: rip, mode: mode), next.threaded else { return .next }
                block = next
            }
            guard fitsLimits(block, options, faults: faults.pointee.count) else { return .next }
            entry = UnsafePointer(ops + block.start)
            count = UInt64(block.count)
            cycles = block.baseCycles
            alu = block.fastALU
            jcc = block.fastJcc
        }
    }

    /// Count the turns a self-loop's Jcc has started since the loop entered the block or
    /// last settled, each as a whole block entered (`countEntered`): once here, instead of
    /// four read-modify-writes of the counters on every turn. Called when the handlers return
    /// to the loop and before a handler reads the counters.
    @inline(__always)
    func settleSelfLoop() {
        let loop = core.pointer(to: \.selfLoop)!
        let turns = UInt64(loop.pointee.turnsGranted &- loop.pointee.turnsLeft)
        guard turns != 0 else { return }
        loop.pointee.turnsGranted = loop.pointee.turnsLeft
        countEntered(instructions: turns &* loop.pointee.count, cycles: turns &* loop.pointee.baseCycles,
                     fastALU: turns &* loop.pointee.fastALU, fastJcc: turns &* loop.pointee.fastJcc)
    }

    /// Count a block (or the rest of one) being entered: its instructions, its cycles as
    /// decoded, and its fast forms by form; what does not retire is taken back on the way out.
    @inline(__always)
    func countEntered(instructions: UInt64, cycles: UInt64, fastALU: UInt64, fastJcc: UInt64) {
        instructionCount &+= instructions
        cycleCount &+= cycles
        retiredByForm[Int(CostForm.alu.rawValue)] &+= fastALU
        retiredByForm[Int(CostForm.branchTaken.rawValue)] &+= fastJcc
    }

    /// A handler did not return `next`: take back what the block was charged for the Ops that
    /// did not retire, then do what `step` does. `restRuns`: an exception under `continue`
    /// that wrote no code, so the rest of the block may run as decoded.
    @inline(never)
    private func leaveThreaded(_ status: UInt8, _ options: RunOptions,
                               _ faults: UnsafeMutablePointer<FaultList>) -> (step: Step, restRuns: Bool) {
        guard let p = core.pointee.threadedStop else { preconditionFailure("a threaded handler left without saying where") }
        let end = p + Int(p.pointee.restCount) + 1
        instructionCount &-= UInt64(p.pointee.restCount)
        cycleCount &-= UInt64(p.pointee.restCycles)
        retiredByForm[Int(CostForm.alu.rawValue)] &-= UInt64(p.pointee.restFastALU)
        // A fast Jcc can only be the block's last Op.
        if p.pointee.restCount > 0 && (end - 1).pointee.handler == .jccNear {
            retiredByForm[Int(CostForm.branchTaken.rawValue)] &-= 1
        }
        if status == ThreadedStatus.codeWritten.rawValue {
            consumeCodeWrites(byGuest: true)
            return (.nextBlock, false)
        }
        // This one did not retire either (HLT, a stop that retires, is counted by `takeStop`).
        instructionCount &-= 1
        cycleCount &-= UInt64(p.pointee.cost)
        if status == ThreadedStatus.stop.rawValue { return (takeStop(at: p.pointee), false) }
        let wroteCode = memory.codeWritten
        let step = takeException(core.pointee.threadedError, at: p.pointee, options, faults)
        if case .nextBlock = step { return (step, !wroteCode) }
        return (step, false)
    }
}

/// A block that ends in a Jcc back to its own start, as the threaded loop entered it: what its
/// Jcc needs to run it again without returning to the loop, and the limits on that.
struct SelfLoop {
    /// The block's first Op and its threaded handler; set whenever `turnsLeft` > 0.
    var first: UnsafePointer<Op>?
    var firstHandler: ThreadedHandler?
    var count: UInt64 = 0
    var baseCycles: UInt64 = 0
    var fastALU: UInt64 = 0
    var fastJcc: UInt64 = 0
    /// How many more times the Jcc may run the block: at most 1,024, fewer when either limit
    /// comes first. Both are solved for the turns once, on entry: the instruction limit
    /// exactly, since every turn counts the block's instructions; the cycle limit with each
    /// turn at the block's dearest cost, which no turn exceeds (a REP string instruction,
    /// whose iterations are not in that cost, ends its block, so it is never in a self-loop).
    /// Fewer turns than the limits allow is harmless: the loop goes on from RIP after them.
    var turnsLeft = 0
    /// `turnsLeft` when the turns were last counted (`Machine.settleSelfLoop`): the turns
    /// run since are the difference, and no turn counts itself as it starts.
    var turnsGranted = 0
    static let turnBound: UInt64 = 1024
    /// The lowest stack address a turn may start at (`stackDepthAllowed` below where the
    /// loop entered the block). An optimized build jumps from handler to handler, so the
    /// stack does not grow; but a debug build calls each next handler, and so would an
    /// optimized build from a handler that got a stack protector (docs/performance.md, item
    /// 35), so each turn can leave frames behind. Checked on every turn, whatever the
    /// compiler did.
    var stackFloor: UInt = 0
    static let stackDepthAllowed: UInt = 64 << 10

    init() {}

    /// Entered with the instruction count at `instructions`, the block counted; made where the
    /// loop calls the block's first handler, so the stack is measured from there.
    @inline(__always)
    init(_ block: OpCache.Block, first: UnsafePointer<Op>, handler: ThreadedHandler, _ options: RunOptions, faults: Int,
         instructions: UInt64, cycles: UInt64) {
        self.first = first
        firstHandler = handler
        count = UInt64(block.count)
        baseCycles = block.baseCycles
        fastALU = block.fastALU
        fastJcc = block.fastJcc
        // Turn k (from 1) may run while the instructions counted before it, those of the
        // turns so far, leave room for the block's and the faults taken:
        //   instructions + (k - 1) * count + count + faults <= maxInstructions
        let needed = instructions.addingReportingOverflow(count &+ UInt64(faults))
        guard !needed.overflow, needed.partialValue <= options.maxInstructions else { return }
        // No division where it can be helped: one costs more than a turn of a short loop.
        let room = options.maxInstructions - needed.partialValue
        var turns = room >= Self.turnBound &* count ? Self.turnBound : room / count + 1
        // Turn k may start while the cycle count at its Jcc leaves room for one more pass at
        // the block's dearest cost. That count is at most cycles + k * cost - baseCycles:
        // `cycles` holds the first pass as decoded, each later pass costs at most `cost`, and
        // each pass's charges beyond its decoded cycles at most cost - baseCycles. So turn k
        // may start if cycles + k * cost - baseCycles <= maxCycles - cost.
        if let maxCycles = options.maxCycles, block.cost > 0 {
            guard maxCycles >= block.cost, maxCycles - block.cost >= cycles else { return }
            let room = (maxCycles - block.cost - cycles).addingReportingOverflow(block.baseCycles)
            if !room.overflow { turns = min(turns, room.partialValue / block.cost) }
        }
        turnsLeft = Int(turns)
        turnsGranted = turnsLeft
        stackFloor = Machine.stackAddress() &- Self.stackDepthAllowed
    }
}

extension Machine {
    /// An address in the caller's stack frame: how deep the stack is, near enough.
    @inline(__always)
    static func stackAddress() -> UInt { UInt(rz_stack_address()) }
}
