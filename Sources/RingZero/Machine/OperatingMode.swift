/// The processor's operating mode, derived from CR0.PE, RFLAGS.VM, EFER.LMA and CS.L
/// (SDM Vol. 3A §2.2).
public enum OperatingMode: String, Sendable, CaseIterable {
    case real
    case protected
    case v8086
    case compat
    case long

    /// The position in `allCases`, for tables indexed by mode.
    var index: Int {
        switch self {
        case .real: 0
        case .protected: 1
        case .v8086: 2
        case .compat: 3
        case .long: 4
        }
    }

    /// The mode the architectural state implies.
    static func derive(cr0: UInt64, rflags: UInt64, efer: UInt64, csL: Bool) -> OperatingMode {
        if cr0 & CR0.PE == 0 { return .real }
        if efer & EFER.LMA != 0 { return csL ? .long : .compat }
        if rflags & RFLAGS.VM != 0 { return .v8086 }
        return .protected
    }
}

/// How instruction bytes are decoded: the default operand and address size of the code.
public enum CodeMode: UInt8, Sendable, CaseIterable {
    case bits16 = 0
    case bits32 = 1
    case bits64 = 2

    public var bits: Int {
        switch self {
        case .bits16: 16
        case .bits32: 32
        case .bits64: 64
        }
    }

    public init?(bits: Int) {
        switch bits {
        case 16: self = .bits16
        case 32: self = .bits32
        case 64: self = .bits64
        default: return nil
        }
    }
}
