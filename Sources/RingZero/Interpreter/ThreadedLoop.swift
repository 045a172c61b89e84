extension Machine {
    /// The threaded loop: a block's first Op's handler is called through `threadedHandlers`,
    /// and each handler calls the next Op's, to the end of the block; then the next block, for
    /// as long as it is cached and fits the limits. A block's instructions, decoded cycles and
    /// fast forms are counted when it is entered (a few adds instead of some per instruction);
    /// leaving it early takes back what did not run (`leaveThreaded`).
    @inline(never)
    func runThreaded(_ first: OpCache.Block, mode: CodeMode, _ options: RunOptions,
                     _ faults: inout [FaultRecord]) -> Step {
        let table = core.pointee.threadedTable
        // Nothing here decodes, so the arena stays where it is.
        let ops = cache.base
        var block = first
        while true {
            instructionCount &+= UInt64(block.count)
            cycleCount &+= block.baseCycles
            retiredByForm[Int(CostForm.alu.rawValue)] &+= block.threadedALU
            retiredByForm[Int(CostForm.branchTaken.rawValue)] &+= block.threadedJcc
            let first = UnsafePointer(ops + block.start)
            let last = first + (block.count - 1)
            if last.pointee.handler == .jccNear && UInt64(bitPattern: last.pointee.imm) == first.pointee.address
                && first.pointee.address != endAddress {
                core.pointee.selfLoop = SelfLoop(block, first: first, options, faults: faults.count)
            } else {
                core.pointee.selfLoop.turnsLeft = 0
            }
            let status = table[Int(first.pointee.handler.rawValue)](first, self)
            if status != ThreadedStatus.next.rawValue {
                return leaveThreaded(status, ops: ops, mode: mode, options, &faults)
            }
            let handler = last.pointee.handler
            if handler.isFast {
                // Fast forms leave RIP alone, except a Jcc; and they cannot change the mode.
                if handler != .jccNear { state.rip = last.pointee.nextAddress }
            } else if state.codeMode != mode {
                return .next
            }
            let rip = state.rip
            guard rip != endAddress else { return .next }
            // A loop back to the block's own start needs no lookup.
            if rip != first.pointee.address {
                guard let next = cache.block(at: rip, mode: mode), next.threaded else { return .next }
                block = next
            }
            guard fitsLimits(block, options, faults: faults.count) else { return .next }
        }
    }

    /// A handler did not return `next`: take back what the block was charged for the Ops that
    /// did not retire, then do what `step` does.
    @inline(never)
    private func leaveThreaded(_ status: UInt8, ops: UnsafeMutablePointer<Op>, mode: CodeMode, _ options: RunOptions,
                               _ faults: inout [FaultRecord]) -> Step {
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
            consumeCodeWrites()
            return .nextBlock
        }
        // This one did not retire either (HLT, a stop that retires, is counted by `takeStop`).
        instructionCount &-= 1
        cycleCount &-= UInt64(p.pointee.cost)
        if status == ThreadedStatus.stop.rawValue { return takeStop(at: p.pointee) }
        let index = p - UnsafePointer(ops) + 1
        return takeException(core.pointee.threadedError, at: p.pointee, options, &faults,
                             rest: (ops, index, end - UnsafePointer(ops), mode))
    }
}

/// A block that ends in a Jcc back to its own start, as the threaded loop entered it: what its
/// Jcc needs to run it again without returning to the loop, and the limits that allows.
struct SelfLoop {
    var first: UnsafePointer<Op>?
    var address: UInt64 = 0
    var count: UInt64 = 0
    var baseCycles: UInt64 = 0
    var fastALU: UInt64 = 0
    var fastJcc: UInt64 = 0
    /// The block runs again only while the counters are at most these (the loop's
    /// `fitsLimits`, solved for the counters once).
    var instructionCeiling: UInt64 = 0
    var cycleCeiling: UInt64 = 0
    /// How many more times. Bounded, so that even a build in which the handlers' calls to the
    /// next one were not compiled as jumps returns to the loop before the stack grows far.
    var turnsLeft = 0

    init() {}

    init(_ block: OpCache.Block, first: UnsafePointer<Op>, _ options: RunOptions, faults: Int) {
        self.first = first
        address = first.pointee.address
        count = UInt64(block.count)
        baseCycles = block.baseCycles
        fastALU = block.threadedALU
        fastJcc = block.threadedJcc
        let used = count &+ UInt64(faults)
        let maxCycles = options.maxCycles ?? .max
        guard options.maxInstructions >= used, maxCycles >= block.cost else { return }
        instructionCeiling = options.maxInstructions - used
        cycleCeiling = maxCycles - block.cost
        turnsLeft = 16
    }
}
