// STOS and MOVS in byte, word, doubleword and quadword forms, with or without REP
// (SDM Vol. 2 "REP/REPE/REPZ/REPNE/REPNZ", "STOS", "MOVS"). RSI, RDI and RCX are used at the
// address size; DF picks the direction. ES and DS have base 0 (flat memory).
//
// A REP string instruction is interruptible: when the run's cycle or instruction budget runs
// out part-way, it stops with RCX, RSI and RDI describing the iterations done and RIP still on
// the instruction, as an interrupted REP leaves them. Each iteration costs the Op's cycle cost;
// iterations count against the instruction limit so that no count can hang the run.

extension Machine {
    private func stringStep(_ op: UnsafePointer<Op>) -> UInt64 {
        state.rflags & RFLAGS.DF != 0 ? (0 &- UInt64(op.pointee.size)) : UInt64(op.pointee.size)
    }

    private func stringAddress(_ reg: GPR, _ op: UnsafePointer<Op>, segment: SegmentOverride) throws(GuestException) -> UInt64 {
        var a = readGPR(UInt8(reg.rawValue), op.pointee.addressSize)
        if op.pointee.codeMode == .bits64 {
            if segment == .fs || segment == .gs {
                a &+= msrFile.storedValue(segment == .fs ? MSRIndex.IA32_FS_BASE : MSRIndex.IA32_GS_BASE) ?? 0
            }
            if !isCanonical(a) { throw fault(.GP) }
        }
        return a
    }

    private func repeatString(_ op: UnsafePointer<Op>, _ body: () throws(GuestException) -> Void) throws(GuestException) {
        guard op.pointee.prefixes & (Op.prefixRep | Op.prefixRepne) != 0 else {
            try body()
            return
        }
        let rcx = UInt8(GPR.rcx.rawValue)
        var iterations: UInt64 = 0
        while readGPR(rcx, op.pointee.addressSize) != 0 {
            if iterations > 0 {
                // Budget check between iterations: the first one is paid for by the Op itself.
                // Less what the threaded loop counted ahead of this instruction.
                let cycles = cycleCount &- core.pointee.cyclesCountedAhead
                let instructions = instructionCount &- core.pointee.instructionsCountedAhead
                if cycles &+ iterations &* UInt64(op.pointee.cost) >= cycleBudget {
                    chargeIterations(op, iterations)
                    state.rip = op.pointee.address
                    pendingStop = .cycleLimit
                    return
                }
                if instructions &+ iterations >= instructionBudget {
                    chargeIterations(op, iterations)
                    state.rip = op.pointee.address
                    pendingStop = .instructionLimit
                    return
                }
            }
            try body()
            writeGPR(rcx, op.pointee.addressSize, readGPR(rcx, op.pointee.addressSize) &- 1)
            iterations &+= 1
        }
        if iterations > 1 { chargeIterations(op, iterations - 1) }
    }

    func stos(_ op: UnsafePointer<Op>) throws(GuestException) {
        try repeatString(op) { () throws(GuestException) in
            let address = try stringAddress(.rdi, op, segment: .data)
            writeMemory(address, op.pointee.size, readGPR(0, op.pointee.size))
            writeGPR(UInt8(GPR.rdi.rawValue), op.pointee.addressSize, readGPR(UInt8(GPR.rdi.rawValue), op.pointee.addressSize) &+ stringStep(op))
        }
    }

    func movs(_ op: UnsafePointer<Op>) throws(GuestException) {
        let sourceSegment = SegmentOverride(rawValue: op.pointee.segment) ?? .data
        try repeatString(op) { () throws(GuestException) in
            let from = try stringAddress(.rsi, op, segment: sourceSegment)
            let to = try stringAddress(.rdi, op, segment: .data)
            writeMemory(to, op.pointee.size, readMemory(from, op.pointee.size))
            let step = stringStep(op)
            writeGPR(UInt8(GPR.rsi.rawValue), op.pointee.addressSize, readGPR(UInt8(GPR.rsi.rawValue), op.pointee.addressSize) &+ step)
            writeGPR(UInt8(GPR.rdi.rawValue), op.pointee.addressSize, readGPR(UInt8(GPR.rdi.rawValue), op.pointee.addressSize) &+ step)
        }
    }

    /// Iterations beyond the one the Op's own cost pays for.
    @inline(__always) private func chargeIterations(_ op: UnsafePointer<Op>, _ n: UInt64) {
        cycleCount &+= n &* UInt64(op.pointee.cost)
        extraCyclesByForm[Int(op.pointee.form)] &+= n &* UInt64(op.pointee.cost)
    }
}
