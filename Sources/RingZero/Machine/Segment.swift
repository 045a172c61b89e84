/// The part of a segment register the interpreter needs: memory is flat (every base is 0,
/// except FS and GS in 64-bit mode, whose bases are IA32_FS_BASE and IA32_GS_BASE), so only
/// the selector and the attribute bits that decide code size and privilege are kept.
public struct SegmentState: Equatable, Sendable {
    public var selector: UInt16
    /// CS.L: 64-bit code segment (meaningful for CS in IA-32e mode only).
    public var l: Bool
    /// CS.D / SS.B: default operand and address size 32 (true) or 16 (false).
    public var d: Bool
    /// Descriptor privilege level; CS.DPL is the CPL outside real and virtual-8086 mode.
    public var dpl: UInt8

    public init(selector: UInt16 = 0, l: Bool = false, d: Bool = false, dpl: UInt8 = 0) {
        self.selector = selector
        self.l = l
        self.d = d
        self.dpl = dpl
    }
}
