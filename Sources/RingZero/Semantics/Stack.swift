// PUSH, POP, PUSHF/PUSHFD/PUSHFQ, POPF/POPFD/POPFQ (SDM Vol. 2), and the push/pop primitives
// CALL and RET share. The stack pointer's width is 64 bits in 64-bit mode, else SS.B.

extension Machine {
    @inline(__always) private func stackPointer() -> UInt64 {
        readGPR(UInt8(GPR.rsp.rawValue), state.stackAddressSize)
    }

    @inline(__always) private func setStackPointer(_ value: UInt64) {
        writeGPR(UInt8(GPR.rsp.rawValue), state.stackAddressSize, value)
    }

    /// Push `size` bytes; RSP changes only once the store cannot fault.
    func pushValue(_ value: UInt64, size: UInt8) throws(GuestException) {
        let sp = (stackPointer() &- UInt64(size)) & sizeMask(state.stackAddressSize)
        let address = try stackAddress(sp)
        writeMemory(address, size, value)
        setStackPointer(sp)
    }

    /// Read the top `size` bytes and the RSP value after popping them, without committing.
    func peekPop(size: UInt8) throws(GuestException) -> (value: UInt64, newSP: UInt64) {
        let sp = stackPointer()
        let address = try stackAddress(sp)
        let value = readMemory(address, size)
        return (value, (sp &+ UInt64(size)) & sizeMask(state.stackAddressSize))
    }

    func commitPop(newSP: UInt64) { setStackPointer(newSP) }

    func push(_ op: UnsafePointer<Op>) throws(GuestException) {
        let value: UInt64
        if op.pointee.srcKind == .imm {
            value = UInt64(bitPattern: op.pointee.imm) & sizeMask(op.pointee.size)
        } else {
            value = try readSource(op, size: op.pointee.size)
        }
        try pushValue(value, size: op.pointee.size)
    }

    /// POP: RSP is incremented before a memory destination's address is computed (SDM POP).
    func pop(_ op: UnsafePointer<Op>) throws(GuestException) {
        let (value, newSP) = try peekPop(size: op.pointee.size)
        if op.pointee.dstKind == .mem {
            let oldSP = state.gpr[GPR.rsp.rawValue]
            commitPop(newSP: newSP)
            do {
                let address = try linearAddress(op)
                writeMemory(address, op.pointee.size, value)
            } catch {
                state.gpr[GPR.rsp.rawValue] = oldSP
                throw error
            }
        } else {
            commitPop(newSP: newSP)
            writeGPR(op.pointee.dstReg, op.pointee.size, value)
        }
    }

    /// PUSHF: the image has VM and RF clear. In virtual-8086 mode with IOPL < 3 it raises
    /// #GP(0), unless CR4.VME = 1 and the operand size is 16, which pushes VIF as IF and IOPL 3.
    func pushf(_ op: UnsafePointer<Op>) throws(GuestException) {
        materializeFlags()
        var image = state.rflags & ~(RFLAGS.VM | RFLAGS.RF)
        if state.mode == .v8086 && state.iopl < 3 {
            guard state.cr4 & CR4.VME != 0 && op.pointee.size == 2 else { throw fault(.GP) }
            image = (image & ~RFLAGS.IF) | (state.rflags & RFLAGS.VIF != 0 ? RFLAGS.IF : 0) | RFLAGS.IOPL
        }
        try pushValue(image & sizeMask(op.pointee.size), size: op.pointee.size)
    }

    /// POPF (SDM Vol. 2 POPF): which flags the popped image may change depends on the mode,
    /// CPL and IOPL. VM, VIP, VIF are never changed and RF is cleared; at CPL 0 everything else
    /// may change; IOPL only at CPL 0; IF only when CPL <= IOPL. A 16-bit POPF changes the low
    /// 16 bits only.
    func popf(_ op: UnsafePointer<Op>) throws(GuestException) {
        let mode = state.mode
        let (value, newSP) = try peekPop(size: op.pointee.size)
        var changeable: UInt64 = RFLAGS.status | RFLAGS.TF | RFLAGS.DF | RFLAGS.NT | RFLAGS.AC | RFLAGS.ID
        var newFlags = value
        if mode == .v8086 {
            if state.iopl == 3 {
                changeable |= RFLAGS.IF
            } else {
                // CR4.VME with a 16-bit POPF: IF goes to VIF, unless that would unmask a
                // pending virtual interrupt or the image sets TF.
                guard state.cr4 & CR4.VME != 0 && op.pointee.size == 2 else { throw fault(.GP) }
                if value & RFLAGS.TF != 0 || (value & RFLAGS.IF != 0 && state.rflags & RFLAGS.VIP != 0) {
                    throw fault(.GP)
                }
                changeable |= RFLAGS.VIF
                newFlags = (newFlags & ~RFLAGS.VIF) | (value & RFLAGS.IF != 0 ? RFLAGS.VIF : 0)
            }
        } else {
            let cpl = state.cpl
            if cpl == 0 { changeable |= RFLAGS.IOPL }
            if cpl <= state.iopl { changeable |= RFLAGS.IF }
        }
        if op.pointee.size == 2 { changeable &= 0xFFFF }
        commitPop(newSP: newSP)
        materializeFlags()
        state.rflags = ((state.rflags & ~changeable) | (newFlags & changeable)) & ~RFLAGS.RF & (RFLAGS.defined) | RFLAGS.reserved1
    }
}
