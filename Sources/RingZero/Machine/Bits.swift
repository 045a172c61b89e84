// Architectural bit positions, named as the SDM names them, so a reader with Vol. 3A open finds them.

/// RFLAGS bits (SDM Vol. 1 §3.4.3).
public enum RFLAGS {
    public static let CF: UInt64 = 1 << 0
    public static let reserved1: UInt64 = 1 << 1
    public static let PF: UInt64 = 1 << 2
    public static let AF: UInt64 = 1 << 4
    public static let ZF: UInt64 = 1 << 6
    public static let SF: UInt64 = 1 << 7
    public static let TF: UInt64 = 1 << 8
    public static let IF: UInt64 = 1 << 9
    public static let DF: UInt64 = 1 << 10
    public static let OF: UInt64 = 1 << 11
    public static let IOPL: UInt64 = 3 << 12
    public static let NT: UInt64 = 1 << 14
    public static let RF: UInt64 = 1 << 16
    public static let VM: UInt64 = 1 << 17
    public static let AC: UInt64 = 1 << 18
    public static let VIF: UInt64 = 1 << 19
    public static let VIP: UInt64 = 1 << 20
    public static let ID: UInt64 = 1 << 21
    /// The six status flags that arithmetic writes and VMX conventions clear.
    public static let status: UInt64 = CF | PF | AF | ZF | SF | OF
    /// Every bit that exists; all others read 0 (bit 1 reads 1).
    public static let defined: UInt64 = status | TF | IF | DF | IOPL | NT | RF | VM | AC | VIF | VIP | ID
}

/// CR0 bits (SDM Vol. 3A §2.5).
public enum CR0 {
    public static let PE: UInt64 = 1 << 0
    public static let MP: UInt64 = 1 << 1
    public static let EM: UInt64 = 1 << 2
    public static let TS: UInt64 = 1 << 3
    public static let ET: UInt64 = 1 << 4
    public static let NE: UInt64 = 1 << 5
    public static let WP: UInt64 = 1 << 16
    public static let AM: UInt64 = 1 << 18
    public static let NW: UInt64 = 1 << 29
    public static let CD: UInt64 = 1 << 30
    public static let PG: UInt64 = 1 << 31
    /// Bits that hold state; the others (6-15, 17, 19-28) ignore writes and read 0.
    public static let implemented: UInt64 = PE | MP | EM | TS | ET | NE | WP | AM | NW | CD | PG
}

/// CR4 bits (SDM Vol. 3A §2.5).
public enum CR4 {
    public static let VME: UInt64 = 1 << 0
    public static let PVI: UInt64 = 1 << 1
    public static let TSD: UInt64 = 1 << 2
    public static let DE: UInt64 = 1 << 3
    public static let PSE: UInt64 = 1 << 4
    public static let PAE: UInt64 = 1 << 5
    public static let MCE: UInt64 = 1 << 6
    public static let PGE: UInt64 = 1 << 7
    public static let PCE: UInt64 = 1 << 8
    public static let OSFXSR: UInt64 = 1 << 9
    public static let OSXMMEXCPT: UInt64 = 1 << 10
    public static let UMIP: UInt64 = 1 << 11
    public static let LA57: UInt64 = 1 << 12
    public static let VMXE: UInt64 = 1 << 13
    public static let SMXE: UInt64 = 1 << 14
    public static let FSGSBASE: UInt64 = 1 << 16
    public static let PCIDE: UInt64 = 1 << 17
    public static let OSXSAVE: UInt64 = 1 << 18
    public static let KL: UInt64 = 1 << 19
    public static let SMEP: UInt64 = 1 << 20
    public static let SMAP: UInt64 = 1 << 21
    public static let PKE: UInt64 = 1 << 22
    public static let CET: UInt64 = 1 << 23
    public static let PKS: UInt64 = 1 << 24
}

/// IA32_EFER bits (SDM Vol. 3A §2.2.1).
public enum EFER {
    public static let SCE: UInt64 = 1 << 0
    public static let LME: UInt64 = 1 << 8
    public static let LMA: UInt64 = 1 << 10
    public static let NXE: UInt64 = 1 << 11
}

/// IA32_FEATURE_CONTROL bits (SDM Vol. 4 Table 2-2; seed text §23.7).
public enum FeatureControl {
    public static let lock: UInt64 = 1 << 0
    public static let enableVMXInsideSMX: UInt64 = 1 << 1
    public static let enableVMXOutsideSMX: UInt64 = 1 << 2
    public static let senterLocalEnables: UInt64 = 0x7F << 8
    public static let senterGlobalEnable: UInt64 = 1 << 15
    public static let sgxLaunchControl: UInt64 = 1 << 17
    public static let sgxGlobalEnable: UInt64 = 1 << 18
    public static let lmceOn: UInt64 = 1 << 20
}

/// Exception vectors (SDM Vol. 3A Table 6-1) with the mnemonics the report uses.
public enum ExceptionVector: UInt8, Sendable, CaseIterable {
    case DE = 0, DB = 1, BP = 3, OF = 4, BR = 5, UD = 6, NM = 7, DF = 8
    case TS = 10, NP = 11, SS = 12, GP = 13, PF = 14, MF = 16, AC = 17, MC = 18, XM = 19

    public var mnemonic: String { "#\(self)" }
}

extension Bool {
    /// Both, without a short circuit: one branch at most where `&&` makes one per operand. For
    /// tests on random data (the fuzzer's instruction mixes), whose branches mispredict.
    @inline(__always) static func & (lhs: Bool, rhs: Bool) -> Bool {
        (UInt8(lhs ? 1 : 0) & UInt8(rhs ? 1 : 0)) != 0
    }

    /// Either, without a short circuit (see `&`).
    @inline(__always) static func | (lhs: Bool, rhs: Bool) -> Bool {
        (UInt8(lhs ? 1 : 0) | UInt8(rhs ? 1 : 0)) != 0
    }
}
