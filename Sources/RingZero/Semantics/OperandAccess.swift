// Reading and writing Op operands: GPRs with the x86 partial-register rules, memory through
// the flat address space with the 64-bit canonical check, and immediates.

extension Machine {
    @inline(__always) func readGPR(_ r: UInt8, _ size: UInt8) -> UInt64 {
        state.gpr[Int(r)] & sizeMask(size)
    }

    /// A 32-bit write zero-extends into bits 63:32; 8- and 16-bit writes keep the rest.
    @inline(__always) func writeGPR(_ r: UInt8, _ size: UInt8, _ value: UInt64) {
        let i = Int(r)
        switch size {
        case 8: state.gpr[i] = value
        case 4: state.gpr[i] = value & 0xFFFF_FFFF
        case 2: state.gpr[i] = (state.gpr[i] & ~0xFFFF) | (value & 0xFFFF)
        default: state.gpr[i] = (state.gpr[i] & ~0xFF) | (value & 0xFF)
        }
    }

    @inline(__always) func isCanonical(_ address: UInt64) -> Bool {
        let upper = Int64(bitPattern: address) >> 47
        return upper == 0 || upper == -1
    }

    /// The fault for a bad address: #SS(0) for stack references, #GP(0) otherwise.
    @inline(__always) func addressFault(stack: Bool) -> GuestException {
        stack ? fault(.SS) : fault(.GP)
    }

    /// #GP, #SS, #TS, #NP, #AC... with error code 0 outside real mode, none in real mode.
    @inline(__always) func fault(_ vector: ExceptionVector) -> GuestException {
        GuestException(vector, errorCode: state.cr0 & CR0.PE == 0 ? nil : 0)
    }

    /// Effective address of the Op's memory operand, wrapped to the address size.
    @inline(__always) func effectiveAddress(_ op: UnsafePointer<Op>) -> UInt64 {
        var a = UInt64(bitPattern: op.pointee.disp)
        if op.pointee.memBase != Op.noRegister { a &+= state.gpr[Int(op.pointee.memBase)] }
        if op.pointee.memIndex != Op.noRegister { a &+= state.gpr[Int(op.pointee.memIndex)] &* UInt64(op.pointee.memScale) }
        switch op.pointee.addressSize {
        case 2: return a & 0xFFFF
        case 4: return a & 0xFFFF_FFFF
        default: return a
        }
    }

    /// Linear address of the memory operand: flat segments (FS and GS have their MSR bases in
    /// 64-bit mode); in 64-bit mode a non-canonical address faults.
    @inline(__always) func linearAddress(_ op: UnsafePointer<Op>) throws(GuestException) -> UInt64 {
        guard let a = canonicalLinearAddress(op) else {
            throw addressFault(stack: op.pointee.segment == SegmentOverride.stack.rawValue)
        }
        return a
    }

    /// `linearAddress`, or nil where it faults.
    @inline(__always) func canonicalLinearAddress(_ op: UnsafePointer<Op>) -> UInt64? {
        var a = effectiveAddress(op)
        if op.pointee.codeMode == .bits64 {
            if op.pointee.segment >= SegmentOverride.fs.rawValue {
                let base = msrFile.storedValue(op.pointee.segment == SegmentOverride.fs.rawValue ? MSRIndex.IA32_FS_BASE : MSRIndex.IA32_GS_BASE) ?? 0
                a &+= base
            }
            if !isCanonical(a) { return nil }
        }
        return a
    }

    /// Linear address of a stack slot at `rsp` (already computed for the stack width).
    @inline(__always) func stackAddress(_ sp: UInt64) throws(GuestException) -> UInt64 {
        if state.mode == .long && !isCanonical(sp) { throw fault(.SS) }
        return sp
    }

    @inline(__always) func readMemory(_ address: UInt64, _ size: UInt8) -> UInt64 {
        let value = memory.read(address, size)
        if _slowPath(watchingMemory) { notifyMemoryAccess(address, size, write: false, value) }
        return value
    }

    @inline(__always) func writeMemory(_ address: UInt64, _ size: UInt8, _ value: UInt64) {
        memory.write(address, size, value)
        if _slowPath(watchingMemory) { notifyMemoryAccess(address, size, write: true, value) }
    }

    /// The source operand's value, `size` bytes wide.
    @inline(__always) func readSource(_ op: UnsafePointer<Op>, size: UInt8) throws(GuestException) -> UInt64 {
        switch op.pointee.srcKind {
        case .reg: return readGPR(op.pointee.srcReg, size)
        case .regHigh8: return (state.gpr[Int(op.pointee.srcReg)] >> 8) & 0xFF
        case .mem: return readMemory(try linearAddress(op), size)
        case .imm: return UInt64(bitPattern: op.pointee.imm) & sizeMask(size)
        case .none: return 0
        }
    }

    /// Where a destination lives once its address is known, so a read-modify-write computes
    /// the address once.
    enum Location {
        case gpr(UInt8)
        case high8(UInt8)
        case memory(UInt64)
    }

    @inline(__always) func destination(_ op: UnsafePointer<Op>) throws(GuestException) -> Location {
        switch op.pointee.dstKind {
        case .regHigh8: return .high8(op.pointee.dstReg)
        case .mem: return .memory(try linearAddress(op))
        default: return .gpr(op.pointee.dstReg)
        }
    }

    @inline(__always) func read(_ location: Location, _ size: UInt8) -> UInt64 {
        switch location {
        case .gpr(let r): readGPR(r, size)
        case .high8(let r): (state.gpr[Int(r)] >> 8) & 0xFF
        case .memory(let a): readMemory(a, size)
        }
    }

    @inline(__always) func write(_ location: Location, _ size: UInt8, _ value: UInt64) {
        switch location {
        case .gpr(let r): writeGPR(r, size, value)
        case .high8(let r):
            state.gpr[Int(r)] = (state.gpr[Int(r)] & ~0xFF00) | ((value & 0xFF) << 8)
        case .memory(let a): writeMemory(a, size, value)
        }
    }

    /// Replace the six status flags.
    @inline(__always) func setStatusFlags(_ flags: UInt64) {
        lazyKind = .none
        state.rflags = (state.rflags & ~RFLAGS.status) | flags
    }

    /// Replace only the flags in `mask`.
    @inline(__always) func setFlags(_ flags: UInt64, mask: UInt64) {
        if mask & RFLAGS.status != 0 { materializeFlags() }
        state.rflags = (state.rflags & ~mask) | (flags & mask)
    }
}
