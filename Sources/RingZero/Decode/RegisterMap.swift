import CCapstone

/// A Capstone register named as the interpreter stores it.
enum MappedRegister {
    /// GPR number and width in bytes; `high8` for AH/CH/DH/BH.
    case gpr(index: UInt8, size: UInt8, high8: Bool)
    case rip
    case controlRegister(UInt8)
    case segment(x86_reg)
    case other
}

/// Capstone's register ids, grouped by GPR, from widest to narrowest.
private let gprFamilies: [(x86_reg, x86_reg, x86_reg, x86_reg)] = [
    (X86_REG_RAX, X86_REG_EAX, X86_REG_AX, X86_REG_AL),
    (X86_REG_RCX, X86_REG_ECX, X86_REG_CX, X86_REG_CL),
    (X86_REG_RDX, X86_REG_EDX, X86_REG_DX, X86_REG_DL),
    (X86_REG_RBX, X86_REG_EBX, X86_REG_BX, X86_REG_BL),
    (X86_REG_RSP, X86_REG_ESP, X86_REG_SP, X86_REG_SPL),
    (X86_REG_RBP, X86_REG_EBP, X86_REG_BP, X86_REG_BPL),
    (X86_REG_RSI, X86_REG_ESI, X86_REG_SI, X86_REG_SIL),
    (X86_REG_RDI, X86_REG_EDI, X86_REG_DI, X86_REG_DIL),
    (X86_REG_R8, X86_REG_R8D, X86_REG_R8W, X86_REG_R8B),
    (X86_REG_R9, X86_REG_R9D, X86_REG_R9W, X86_REG_R9B),
    (X86_REG_R10, X86_REG_R10D, X86_REG_R10W, X86_REG_R10B),
    (X86_REG_R11, X86_REG_R11D, X86_REG_R11W, X86_REG_R11B),
    (X86_REG_R12, X86_REG_R12D, X86_REG_R12W, X86_REG_R12B),
    (X86_REG_R13, X86_REG_R13D, X86_REG_R13W, X86_REG_R13B),
    (X86_REG_R14, X86_REG_R14D, X86_REG_R14W, X86_REG_R14B),
    (X86_REG_R15, X86_REG_R15D, X86_REG_R15W, X86_REG_R15B),
]

private let controlRegisters: [x86_reg] = [
    X86_REG_CR0, X86_REG_CR1, X86_REG_CR2, X86_REG_CR3, X86_REG_CR4, X86_REG_CR5, X86_REG_CR6, X86_REG_CR7,
    X86_REG_CR8, X86_REG_CR9, X86_REG_CR10, X86_REG_CR11, X86_REG_CR12, X86_REG_CR13, X86_REG_CR14, X86_REG_CR15,
]

/// A table indexed by Capstone register id, built once.
private let registerTable: [MappedRegister] = {
    var table = [MappedRegister](repeating: .other, count: Int(X86_REG_ENDING.rawValue))
    for (i, family) in gprFamilies.enumerated() {
        let n = UInt8(i)
        table[Int(family.0.rawValue)] = .gpr(index: n, size: 8, high8: false)
        table[Int(family.1.rawValue)] = .gpr(index: n, size: 4, high8: false)
        table[Int(family.2.rawValue)] = .gpr(index: n, size: 2, high8: false)
        table[Int(family.3.rawValue)] = .gpr(index: n, size: 1, high8: false)
    }
    for (i, r) in [X86_REG_AH, X86_REG_CH, X86_REG_DH, X86_REG_BH].enumerated() {
        table[Int(r.rawValue)] = .gpr(index: UInt8(i), size: 1, high8: true)
    }
    for (i, r) in controlRegisters.enumerated() { table[Int(r.rawValue)] = .controlRegister(UInt8(i)) }
    table[Int(X86_REG_RIP.rawValue)] = .rip
    table[Int(X86_REG_EIP.rawValue)] = .rip
    for r in [X86_REG_CS, X86_REG_DS, X86_REG_ES, X86_REG_FS, X86_REG_GS, X86_REG_SS] {
        table[Int(r.rawValue)] = .segment(r)
    }
    return table
}()

func mapRegister(_ r: x86_reg) -> MappedRegister {
    let i = Int(r.rawValue)
    return i < registerTable.count ? registerTable[i] : .other
}
