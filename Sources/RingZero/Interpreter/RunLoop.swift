extension Machine {
    /// Run from the current RIP until a stop reason applies.
    public func run(_ options: RunOptions = RunOptions()) -> RunOutcome {
        // Two copies of the loop: the one without a before-instruction hook has no trace of it.
        hooks.beforeInstruction == nil ? dispatch(options, instrumented: false) : dispatch(options, instrumented: true)
    }

    /// Execute exactly one instruction (or take one exception) and stop.
    public func step() -> RunOutcome {
        run(RunOptions(maxInstructions: instructionCount &+ 1))
    }

    @inline(__always)
    private func dispatch(_ options: RunOptions, instrumented: Bool) -> RunOutcome {
        var faults: [FaultRecord] = []
        pendingStop = nil
        let maxCycles = options.maxCycles ?? .max
        cycleBudget = maxCycles
        instructionBudget = options.repeatBudget ?? options.maxInstructions
        consumeCodeWrites()

        materializeFlags()
        func finish(_ reason: StopReason, instruction: String? = nil, fault: FaultRecord? = nil) -> RunOutcome {
            // Outside the loop `state` is exact: compute any pending status flags.
            materializeFlags()
            return RunOutcome(reason: reason, rip: state.rip, instruction: instruction, fault: fault, faults: faults)
        }

        // Exceptions taken under `--on-fault continue` count against the instruction limit
        // with the retired instructions: a run of bytes that all fault must end too.
        func executed() -> UInt64 { instructionCount &+ UInt64(faults.count) }

        while true {
            if executed() >= options.maxInstructions { return finish(.instructionLimit) }
            if cycleCount >= maxCycles { return finish(.cycleLimit) }
            if let end = endAddress, state.rip == end { return finish(.end) }

            let mode = state.codeMode
            let block: OpCache.Block
            if !options.referencePath, let cached = cache.block(at: state.rip, mode: mode) {
                block = cached
            } else {
                block = decodeBlock(at: state.rip, mode: mode, single: options.referencePath)
            }
            // Limits are checked once per block when the whole block fits in what is left.
            let fits = executed() &+ UInt64(block.count) <= options.maxInstructions
                && cycleCount &+ block.cost <= maxCycles && cycleCount &+ block.cost >= cycleCount
            let ops = cache.base
            var index = block.start
            let end = block.start + block.count
            while index < end {
                let op = ops[index]
                index += 1
                if !fits {
                    if executed() >= options.maxInstructions { return finish(.instructionLimit) }
                    if cycleCount >= maxCycles { return finish(.cycleLimit) }
                }
                if instrumented, let hook = hooks.beforeInstruction {
                    materializeFlags()
                    if hook(self, op) == .stop { return finish(.hook) }
                }
                state.rip = op.nextAddress
                do {
                    try execute(op)
                } catch {
                    state.rip = op.address
                    cycleCount &+= UInt64(costs.cost(.exception))
                    retiredByForm[Int(CostForm.exception.rawValue)] &+= 1
                    let record = FaultRecord(
                        vector: error.vector, errorCode: error.errorCode, rip: op.address,
                        instruction: op.handler == .invalidOpcode && op.instructionID == 0 ? nil : disassemble(at: op.address)?.text)
                    // A hook may ask to stop: one watching memory the instruction touched before
                    // it faulted, or the exception hook itself.
                    var hookStops = pendingStop == .hook
                    pendingStop = nil
                    if let hook = hooks.exception {
                        materializeFlags()
                        if hook(self, record) == .stop { hookStops = true }
                    }
                    if hookStops { return finish(.hook, fault: record) }
                    if options.onFault == .stop { return finish(.fault, fault: record) }
                    faults.append(record)
                    // REP iterations weigh against the same count as the loop's own check.
                    instructionBudget = (options.repeatBudget ?? options.maxInstructions) &- UInt64(faults.count)
                    state.rip = op.nextAddress
                    consumeCodeWrites()
                    break
                }
                if let stop = pendingStop {
                    pendingStop = nil
                    switch stop {
                    case .unsupported:
                        state.rip = op.address
                        return finish(.unsupported, instruction: disassemble(at: op.address)?.text)
                    case .hlt, .hook:
                        instructionCount &+= 1
                        cycleCount &+= UInt64(op.cost)
                        retiredByForm[Int(op.form)] &+= 1
                        return finish(stop)
                    default:
                        // A REP string instruction ran out of budget part-way; it left RIP on
                        // itself, as an interrupted REP does, and has not retired.
                        return finish(stop)
                    }
                }
                instructionCount &+= 1
                cycleCount &+= UInt64(op.cost)
                retiredByForm[Int(op.form)] &+= 1
                if memory.codeWritten {
                    consumeCodeWrites()
                    break
                }
            }
        }
    }

    /// Decode a straight-line block at `address` and store it in the cache.
    func decodeBlock(at address: UInt64, mode: CodeMode, single: Bool) -> OpCache.Block {
        var ops: [Op] = []
        var pc = address
        let page = address >> 12
        while true {
            let op = decodeOne(at: pc, mode: mode)
            ops.append(op)
            pc = op.nextAddress
            if single || op.handler.endsBlock || ops.count >= OpCache.maxBlockLength { break }
            if pc >> 12 != page || pc == endAddress { break }
        }
        if single {
            // The reference path keeps nothing: the arena holds only this one block.
            cache.removeAll(memory: memory)
        }
        let worst = ops.reduce(UInt64(0)) { $0 &+ UInt64(costs.worstCase[Int($1.form)]) }
        return cache.insert(ops, at: address, mode: mode, memory: memory, worstCaseCost: worst)
    }

    /// Decode the instruction at `address`: Capstone, then lowering. Bytes Capstone rejects
    /// become a one-byte #UD Op.
    func decodeOne(at address: UInt64, mode: CodeMode) -> Op {
        let bytes = memory.peek(address, count: 15)
        let op = bytes.withUnsafeBytes { raw in
            decoder.withInstruction(raw, address: address, mode: mode) { insn in
                Lowering(insn, mode: mode).lower(costs: costs)
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
