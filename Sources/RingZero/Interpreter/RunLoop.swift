extension Machine {
    /// Run from the current RIP until a stop reason applies.
    public func run(_ options: RunOptions = RunOptions()) -> RunOutcome {
        outcome(dispatch(options))
    }

    /// Run as `run` does, leaving the outcome in the machine (`outcome(_:)` builds it): the
    /// exceptions taken in the fault list it keeps, the exit's instruction and fault beside
    /// it. For the fuzzer, which compares two runs in place: a `RunOutcome` per run, copied and
    /// destroyed, cost it a dozen reference-count operations.
    func runInPlace(_ options: RunOptions) -> StopReason {
        dispatch(options)
    }

    /// The outcome of the last run, which ended for `reason` (`runInPlace`).
    func outcome(_ reason: StopReason) -> RunOutcome {
        RunOutcome(reason: reason, rip: state.rip, instruction: core.pointee.lastExit.instruction,
                   fault: core.pointee.lastExit.fault, faults: faultList.pointee.records)
    }

    /// Whether the last runs of this machine and `other` took the same exceptions and ended
    /// the same way (the unsupported instruction, the fault), compared in place.
    func sameFaultsAndExit(as other: Machine) -> Bool {
        core.pointee.lastExit.instruction == other.core.pointee.lastExit.instruction
            && core.pointee.lastExit.fault == other.core.pointee.lastExit.fault
            && faultList.pointee.same(as: other.faultList.pointee)
    }

    /// Call `mix` with the exit's exception vector (0xFF for none), then each exception's.
    func mixFaults(_ mix: (UInt64) -> Void) {
        mix(UInt64(core.pointee.lastExit.fault?.vector.rawValue ?? 0xFF))
        for fault in faultList.pointee.taken.elements() { mix(UInt64(fault.vectorNumber)) }
    }

    /// Execute exactly one instruction (or take one exception) and stop.
    public func step() -> RunOutcome {
        run(RunOptions(maxInstructions: instructionCount &+ 1))
    }

    /// The dispatch loop. A before-instruction hook is honoured only in the generic loop; the
    /// threaded loop, which runs whenever no hook is registered and the block fits the limits,
    /// has no trace of it.
    private func dispatch(_ options: RunOptions) -> StopReason {
        // The fault list is the machine's, worked on in place and reused from run to run (an
        // outcome gets a copy of its records).
        let faultList = self.faultList
        faultList.pointee.removeAll()
        pendingStop = nil
        let maxCycles = options.maxCycles ?? .max
        cycleBudget = maxCycles
        instructionBudget = options.repeatBudget ?? options.maxInstructions
        consumeCodeWrites()

        materializeFlags()
        // With a hook registered every instruction takes the generic loop, whose counters are
        // exact after each one, so a hook sees the machine as it is.
        let hooked = hooks.isActive
        // Read once, and called without binding it anew per instruction: each binding of the
        // closure retained and released its context.
        let callsBeforeInstruction = hooks.hasBeforeInstruction
        let hookReadsStatusFlags = hooks.beforeInstructionReadsStatusFlags
        let beforeInstruction = hooks.beforeInstruction
        func finish(_ reason: StopReason) -> StopReason {
            // Outside the loop `state` is exact: compute any pending status flags.
            materializeFlags()
            // Only the reason when there is nothing else to drop: assigning a whole exit
            // released its two optional fields, strings or not.
            if core.pointee.lastExit.instruction == nil && core.pointee.lastExit.fault == nil {
                core.pointee.lastExit.reason = reason
            } else {
                core.pointee.lastExit = BlockExit(reason: reason)
            }
            return reason
        }
        /// `finish` as a `Step.stop` asked (`stop(_:)` left the exit in the core).
        func finishStopped() -> StopReason {
            materializeFlags()
            swap(&core.pointee.lastExit, &core.pointee.blockExit)
            return core.pointee.lastExit.reason
        }

        // Exceptions taken under `--on-fault continue` count against the instruction limit
        // with the retired instructions: a run of bytes that all fault must end too.
        func executed() -> UInt64 { instructionCount &+ UInt64(faultList.pointee.count) }
        /// Call the before-instruction hook, if one is registered: whether it asks to stop.
        func hookStops(before op: UnsafePointer<Op>) -> Bool {
            guard callsBeforeInstruction else { return false }
            if hookReadsStatusFlags { materializeFlags() }
            return beforeInstruction(self, op) == .stop
        }
        /// The instruction at RIP decoded afresh (without fast forms; or its Op built for it,
        /// `setPredecoded`) and run through its generic handler, nothing cached. Decoded in
        /// place into the machine's slot for it: a fresh Op copied before its use stalled on
        /// store forwarding (written a byte at a time, copied 16 at a time).
        func stepAfresh() -> Step {
            let mode = state.codeMode
            let op: UnsafePointer<Op>
            if let built = core.pointee.predecoded.take(at: state.rip, mode: mode, memory) {
                op = built
            } else {
                let slot = core.pointee.decodeSlot
                decodeOne(at: state.rip, mode: mode, fastForms: false, direct: decodesCommonFormsDirectly, into: &slot.pointee)
                op = UnsafePointer(slot)
            }
            if hookStops(before: op) { return stop(BlockExit(reason: .hook)) }
            state.rip = op.pointee.nextAddress
            return step(op, options, faultList)
        }

        if options.referencePath {
            // The reference path: every instruction so, the limits checked before each.
            while true {
                if executed() >= options.maxInstructions { return finish(.instructionLimit) }
                if cycleCount >= maxCycles { return finish(.cycleLimit) }
                if let end = endAddress, state.rip == end { return finish(.end) }
                if stepAfresh() == .stop { return finishStopped() }
            }
        }

        while true {
            if executed() >= options.maxInstructions { return finish(.instructionLimit) }
            if cycleCount >= maxCycles { return finish(.cycleLimit) }
            if let end = endAddress, state.rip == end { return finish(.end) }

            let mode = state.codeMode
            let block: OpCache.Block
            if let cached = cache.block(at: state.rip, mode: mode) {
                block = cached
            } else if core.pointee.codeRewrites.runsUncached(state.rip) {
                // A page its own stores keep rewriting: one instruction as the reference path
                // runs it, not cached (`CodeRewrites`).
                core.pointee.codeRewrites.stepped()
                if stepAfresh() == .stop { return finishStopped() }
                continue
            } else {
                block = decodeBlock(at: state.rip, mode: mode)
            }
            // Limits are checked once per block when the whole block fits in what is left.
            let fits = fitsLimits(block, options, faults: faultList.pointee.count)
            if fits && !hooked && block.threaded {
                switch runThreaded(block, mode: mode, options, faultList) {
                case .next, .nextBlock: continue
                case .stop: return finishStopped()
                }
            }
            // Otherwise (a hook, a limit inside the block, or a block whose counts do not fit
            // the Ops' fields): one instruction at a time through `step`, exact after each.
            let ops = cache.base
            var index = block.start
            let end = block.start + block.count
            while index < end {
                let op = UnsafePointer(ops + index)
                if !fits {
                    if executed() >= options.maxInstructions { return finish(.instructionLimit) }
                    if cycleCount >= maxCycles { return finish(.cycleLimit) }
                }
                if hookStops(before: op) { return finish(.hook) }
                index += 1
                state.rip = op.pointee.nextAddress
                switch step(op, options, faultList) {
                case .next: continue
                case .nextBlock: break
                case .stop: return finishStopped()
                }
                break
            }
        }
    }

    /// Whether all of `block` can run before either limit: then they are not checked inside it.
    /// Exceptions taken under `--on-fault continue` count with the retired instructions.
    @inline(__always)
    func fitsLimits(_ block: OpCache.Block, _ options: RunOptions, faults: Int) -> Bool {
        fitsLimits(instructions: UInt64(block.count), cost: block.cost, options, faults: faults)
    }

    /// Whether `instructions` more, costing at most `cost` cycles, can run before either limit.
    @inline(__always)
    func fitsLimits(instructions: UInt64, cost: UInt64, _ options: RunOptions, faults: Int) -> Bool {
        let maxCycles = options.maxCycles ?? .max
        let cycles = cycleCount &+ cost
        return instructionCount &+ UInt64(faults) &+ instructions <= options.maxInstructions
            && cycles <= maxCycles && cycles >= cycleCount
    }

    /// What the loop does after one generic instruction. A plain value: with the exit as its
    /// payload every step copied and destroyed strings.
    enum Step {
        /// Go on with the block.
        case next
        /// Leave the block (an exception under `continue`, a store into code).
        case nextBlock
        /// End the run, as `stop(_:)` left in the core.
        case stop
    }

    /// End the run with `exit`.
    func stop(_ exit: BlockExit) -> Step {
        core.pointee.blockExit = exit
        return .stop
    }

    /// Execute one Op through its generic handler, with RIP already past it: the exception
    /// path, the stop requests, the counters, and self-modifying code.
    private func step(_ op: UnsafePointer<Op>, _ options: RunOptions, _ faults: UnsafeMutablePointer<FaultList>) -> Step {
        do {
            try execute(op)
        } catch {
            return takeException(error, at: op.pointee, options, faults)
        }
        if pendingStop != nil { return takeStop(at: op.pointee) }
        instructionCount &+= 1
        cycleCount &+= UInt64(op.pointee.cost)
        retiredByForm[Int(op.pointee.form)] &+= 1
        if memory.codeWritten {
            consumeCodeWrites(byGuest: true)
            return .nextBlock
        }
        return .next
    }

    /// An exception: charge its delivery, record it, ask the exception hook, apply the policy.
    @inline(never)
    func takeException(_ error: GuestException, at op: Op, _ options: RunOptions, _ faults: UnsafeMutablePointer<FaultList>) -> Step {
        state.rip = op.address
        cycleCount &+= UInt64(costs.cost(.exception))
        retiredByForm[Int(CostForm.exception.rawValue)] &+= 1
        let text = !describesFaults || (op.handler == .invalidOpcode && op.instructionID == 0) ? nil : disassemble(at: op.address)?.text
        // A hook may ask to stop: one watching memory the instruction touched before it
        // faulted, or the exception hook itself.
        let hookStops = pendingStop == .hook
        pendingStop = nil
        if hookStops || options.onFault == .stop || hooks.exception != nil || text != nil {
            let record = FaultRecord(vector: error.vector, errorCode: error.errorCode, rip: op.address, instruction: text)
            if let step = deliver(record, hookStops: hookStops, options, faults) { return step }
        } else {
            // The common case, a fuzz run's: plain values recorded, no `FaultRecord` (and its
            // string) made and destroyed.
            faults.pointee.append(vectorNumber: error.vector.rawValue, errorCode: error.errorCode, rip: op.address)
        }
        // REP iterations weigh against the same count as the loop's own check.
        instructionBudget = (options.repeatBudget ?? options.maxInstructions) &- UInt64(faults.pointee.count)
        state.rip = op.nextAddress
        consumeCodeWrites()
        return .nextBlock
    }

    /// An exception as a record: to the exception hook, then to the run's end or its list.
    /// Nil when the run goes on with it recorded.
    @inline(never)
    private func deliver(_ record: FaultRecord, hookStops: Bool, _ options: RunOptions,
                         _ faults: UnsafeMutablePointer<FaultList>) -> Step? {
        var hookStops = hookStops
        if let hook = hooks.exception {
            materializeFlags()
            if hook(self, record) == .stop { hookStops = true }
        }
        if hookStops { return stop(BlockExit(reason: .hook, fault: record)) }
        if options.onFault == .stop { return stop(BlockExit(reason: .fault, fault: record)) }
        faults.pointee.append(record)
        return nil
    }

    /// A handler asked to stop (HLT, an unsupported instruction, a hook, a REP budget).
    @inline(never)
    func takeStop(at op: Op) -> Step {
        guard let stop = pendingStop else { return .next }
        pendingStop = nil
        switch stop {
        case .unsupported:
            state.rip = op.address
            return self.stop(BlockExit(reason: .unsupported, instruction: disassemble(at: op.address)?.text))
        case .hlt, .hook:
            instructionCount &+= 1
            cycleCount &+= UInt64(op.cost)
            retiredByForm[Int(op.form)] &+= 1
            return self.stop(BlockExit(reason: stop))
        default:
            // A REP string instruction ran out of budget part-way; it left RIP on itself, as
            // an interrupted REP does, and has not retired.
            return self.stop(BlockExit(reason: stop))
        }
    }

    /// Decode a straight-line block at `address` and store it in the cache: each Op decoded
    /// straight into the arena, the block's totals added up on the way.
    func decodeBlock(at address: UInt64, mode: CodeMode) -> OpCache.Block {
        // Room for the longest block and its end marker.
        let slots = cache.reserve(OpCache.maxBlockLength + 1, memory: memory)
        let worstCase = costs.worstCase
        var totals = OpCache.Totals()
        var n = 0
        var pc = address
        let page = address >> 12
        // Where a fast INC or DEC finds the CF it keeps (`CarryHint`): unknown at the start.
        var carry = CarryHint.unknown.rawValue
        let carryAfter = core.pointee.carryAfterTable
        let endsBlock = core.pointee.endsBlockTable
        let table = core.pointee.threadedTable
        // Ops built for this code (`PredecodedCode`): the next one's index, while the block
        // follows them.
        let predecoded = core.pointee.predecoded
        var built = predecoded.usable(in: mode, memory) ? predecoded.index(of: address) : nil
        while true {
            // Op is a trivial type: its slot may be written without initializing it first.
            if let i = built, i < predecoded.count, let ops = predecoded.ops, ops[i].address == pc {
                slots[n] = ops[i]
                built = i + 1
            } else {
                built = nil
                decodeOne(at: pc, mode: mode, fastForms: true, direct: decodesCommonFormsDirectly, into: &slots[n])
                slots[n].entry = 0
            }
            let op = UnsafePointer(slots + n)
            let handler = op.pointee.handler
            // Ops built for the code come threaded (`OpPrototypes`); a decoded one is threaded
            // here, read before the carry hint's store into the slot (`ThreadedIndex.of`).
            if op.pointee.entry == 0 { slots[n].thread(ThreadedIndex.of(op), table) }
            // What follows is written to branch on the handler as little as it can: on random
            // code (the fuzzer's) every such branch mispredicted, and this loop paid most of
            // the plain run's mispredictions (docs/performance.md, item 55).
            // The carry hint is stored in every Op (only INC and DEC read it), and the next
            // one found in a table.
            slots[n].carryHint = carry
            let after = carryAfter[Int(handler.rawValue)]
            carry = after == CarryHint.keepsHint ? carry : after
            // A MOV ECX, imm32 before RDMSR or WRMSR: both tests made, one branch (rarely taken).
            if n > 0, let pair = ThreadedIndex.pair(slots[n - 1], then: handler) { slots[n - 1].thread(pair, table) }
            n += 1
            totals.add(op.pointee, worstCase: worstCase[Int(op.pointee.form)])
            pc = op.pointee.nextAddress
            // A REP string instruction ends its block too: its iterations are not in the
            // block's cost, so the limits must be checked again after it.
            let repeats = (handler == .stos) | (handler == .movs) && op.pointee.prefixes & (Op.prefixRep | Op.prefixRepne) != 0
            if op.pointee.endsBlock(handlerEndsBlock: endsBlock[Int(handler.rawValue)]) | repeats | (n >= OpCache.maxBlockLength) | (pc >> 12 != page) | (pc == endAddress) { break }
        }
        // Where the next block most likely starts among the built Ops.
        if let i = built { core.pointee.predecoded.next = i }
        // A fast form right before the block's closing Jcc runs that Jcc itself.
        if n >= 2 && slots[n - 1].handler == .jccNear {
            slots[n - 2].thread(ThreadedIndex.of(slots[n - 2], closing: ClosingJcc(cond: slots[n - 1].cond)), table)
        }
        // What follows each Op in the block, for the threaded loop's counting up front.
        if totals.restsFit {
            var count: UInt8 = 0, fastALU: UInt8 = 0, cycles: UInt32 = 0
            for i in stride(from: n - 1, through: 0, by: -1) {
                slots[i].restCount = count
                slots[i].restFastALU = fastALU
                slots[i].restCycles = cycles
                count &+= 1
                if slots[i].isFastALU { fastALU &+= 1 }
                cycles &+= slots[i].cost
            }
        }
        // The end marker: a handler that only returns to the loop, so that no threaded
        // handler tests whether another Op follows it. It is never executed as an instruction.
        slots[n] = Op(handler: .nop, address: pc, length: 0, codeMode: mode)
        slots[n].thread(UInt8(ThreadedIndex.blockEnd), table)
        return cache.commit(n, at: address, mode: mode, memory: memory, totals: totals)
    }

    /// Decode the instruction at `address`: `DirectDecoder` first when `direct`, else (and for
    /// the forms it does not cover) Capstone, then lowering. Bytes Capstone rejects become a
    /// one-byte #UD Op.
    func decodeOne(at address: UInt64, mode: CodeMode, fastForms: Bool = false, direct: Bool = false) -> Op {
        var op = Op(handler: .invalidOpcode, address: address, length: 1, codeMode: mode)
        decodeOne(at: address, mode: mode, fastForms: fastForms, direct: direct, into: &op)
        return op
    }

    /// Lend the next runs `code`, Ops built for the code loaded at their addresses in `mode`
    /// (ascending), taken instead of decoding it until a store reaches their pages
    /// (`PredecodedCode`): by `decodeBlock` (fast forms, as it decodes them) or by the reference
    /// path (generic handlers), until `clearPredecoded`; the caller keeps `code` alive until
    /// then. Starts the memory's watch of written pages (`PhysicalMemory.watchWrites`); without
    /// a snapshot baseline (pages not tracked) the Ops are not used.
    func setPredecoded(_ code: UnsafeBufferPointer<Op>, mode: CodeMode) {
        memory.watchWrites()
        guard let first = code.first, let last = code.last else { return }
        let firstPage = first.address >> 12, lastPage = (last.address &+ UInt64(max(last.length, 1)) &- 1) >> 12
        if firstPage <= lastPage, lastPage < UInt64(memory.pageCount), memory.areClean(pages: firstPage...lastPage) {
            core.pointee.predecoded = PredecodedCode(ops: code.baseAddress, count: code.count, mode: mode,
                                                     firstPage: firstPage, lastPage: lastPage)
        }
    }

    func clearPredecoded() {
        core.pointee.predecoded = PredecodedCode()
    }

    /// `decodeOne` into `op` in place (an arena slot, say): no copy of a freshly built Op.
    @inline(__always)
    func decodeOne(at address: UInt64, mode: CodeMode, fastForms: Bool, direct: Bool, into op: inout Op) {
        if direct && address < memory.size {
            let available = Int(min(15, memory.size - address))
            let p = (memory.bytes + Int(address)).assumingMemoryBound(to: UInt8.self)
            if DirectDecoder.decode(p, available: available, address: address, mode: mode, costs: costs, fastForms: fastForms, into: &op) {
                return
            }
        }
        op = decodeWithCapstone(at: address, mode: mode, fastForms: fastForms)
    }

    /// Capstone, then lowering. Out of line: its frame (Capstone's detail, the lowering state)
    /// is large, and every direct decode paid for setting it up while it was inline.
    @inline(never)
    private func decodeWithCapstone(at address: UInt64, mode: CodeMode, fastForms: Bool) -> Op {
        let op = memory.withInstructionBytes(at: address) { raw in
            decoder.withInstruction(raw, address: address, mode: mode) { insn in
                Lowering(insn, mode: mode).lower(costs: costs, fastForms: fastForms)
            }
        }
        if var op {
            if op.address != address { op.address = address }
            return op
        }
        var invalid = Op(handler: .invalidOpcode, address: address, length: 1, codeMode: mode)
        costs.price(&invalid)
        return invalid
    }
}
