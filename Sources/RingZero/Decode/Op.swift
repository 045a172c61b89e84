/// Where an operand lives.
public enum OperandKind: UInt8, Sendable, Equatable {
    case none
    /// A GPR, `reg` is its number; the operand's width is the Op's size.
    case reg
    /// AH, CH, DH or BH: bits 15:8 of GPR `reg` (0-3).
    case regHigh8
    /// The Op's memory operand.
    case mem
    /// The Op's immediate.
    case imm
}

/// One decoded instruction in the interpreter's own compact form: a plain value with no
/// references, so a block of them is one contiguous buffer and the dispatch loop never retains
/// or releases anything.
public struct Op: Sendable, Equatable {
    /// What to execute.
    public internal(set) var handler: Handler
    /// Instruction length in bytes.
    public internal(set) var length: UInt8
    /// Operand size in bytes (1, 2, 4, 8) of the destination, or the instruction's operand size.
    public internal(set) var size: UInt8
    /// Source operand size where it differs (MOVZX/MOVSX, shifts by CL).
    public internal(set) var srcSize: UInt8
    public internal(set) var dstKind: OperandKind
    public internal(set) var dstReg: UInt8
    public internal(set) var srcKind: OperandKind
    public internal(set) var srcReg: UInt8
    /// Condition code 0-15 for Jcc/SETcc/CMOVcc; control-register number for MOV CR;
    /// string-element size for string ops.
    public internal(set) var cond: UInt8
    /// Prefix bits (`Op.prefixLock`, `prefixRep`, `prefixRepne`).
    public internal(set) var prefixes: UInt8
    /// Memory operand: base and index GPR (`noRegister` when absent), scale, address size in bytes.
    public internal(set) var memBase: UInt8
    public internal(set) var memIndex: UInt8
    public internal(set) var memScale: UInt8
    public internal(set) var addressSize: UInt8
    /// Segment of the memory operand (`Segment` raw value).
    public internal(set) var segment: UInt8
    /// The code mode the Op was decoded in.
    public internal(set) var codeMode: CodeMode
    /// Cycle cost, resolved from the profile at decode time so the loop only adds it.
    public internal(set) var cost: UInt32
    /// The cost form (`CostForm` raw value) the cost was resolved for, for the per-form counters.
    public internal(set) var form: UInt16
    /// How many Ops follow this one in its cached block, and what they cost as decoded: the
    /// threaded loop charges a block's counters when it enters it, and takes these back when
    /// it leaves early (an exception, a stop) or runs a handler that reads the counters. Zero
    /// outside the cache. Kept in what was padding.
    var restCount: UInt8
    /// How many of those are fast ALU forms (the only other fast form, a Jcc, ends a block).
    var restFastALU: UInt8
    /// The Capstone instruction id (for names in reports), kept in 16 bits: Capstone's x86 ids
    /// end below 2,000, and the other half of the word holds `carryHint`.
    private var instructionID16: UInt16
    /// For a fast INC or DEC in a cached block: where the CF it keeps is found, as worked out
    /// when the block was decoded (`CarryHint`; set in every cached Op, read only by those).
    /// Zero outside the cache.
    var carryHint: UInt8
    var restCycles: UInt32
    /// Displacement of the memory operand (absolute address for RIP-relative operands).
    public internal(set) var disp: Int64
    /// Immediate, or the absolute target of a relative branch.
    public internal(set) var imm: Int64
    /// Guest address of the first byte.
    public internal(set) var address: UInt64
    /// In a cached block: the Op's threaded handler (`Machine.threadedHandlers` at its
    /// `ThreadedIndex`), so that a handler jumps to the next one with one load (direct
    /// threading); its address, as a plain value keeps an Op `Sendable`. Zero outside the
    /// cache (`threadedHandler`).
    var entry: UInt

    /// The Capstone instruction id (for names in reports).
    public internal(set) var instructionID: UInt32 {
        get { UInt32(instructionID16) }
        set {
            assert(newValue <= UInt32(UInt16.max), "a Capstone id above 16 bits")
            instructionID16 = UInt16(truncatingIfNeeded: newValue)
        }
    }

    public static let noRegister: UInt8 = 0xFF
    public static let prefixLock: UInt8 = 1
    public static let prefixRep: UInt8 = 2
    public static let prefixRepne: UInt8 = 4

    init(handler: Handler, address: UInt64, length: UInt8, codeMode: CodeMode) {
        self.handler = handler
        self.length = length
        self.size = 0
        self.srcSize = 0
        self.dstKind = .none
        self.dstReg = 0
        self.srcKind = .none
        self.srcReg = 0
        self.cond = 0
        self.prefixes = 0
        self.memBase = Op.noRegister
        self.memIndex = Op.noRegister
        self.memScale = 1
        self.addressSize = 8
        self.segment = 0
        self.codeMode = codeMode
        self.cost = 1
        self.form = CostForm.alu.rawValue
        self.restCount = 0
        self.restFastALU = 0
        self.instructionID16 = 0
        self.carryHint = 0
        self.restCycles = 0
        self.disp = 0
        self.imm = 0
        self.address = address
        self.entry = 0
    }

    /// Whether the block ends after this Op: `Handler.endsBlock`, MOV to CR0 (CR0.PE, CR0.PG),
    /// and LMSW in 16-bit code. LMSW can set CR0.PE but never clear it (SDM LMSW), and 32- and
    /// 64-bit code runs with PE already set, so only there can it change the mode.
    /// Inlined: called on an Op in the arena, a call copied all 64 bytes of it, and reading
    /// the `entry` just stored stalled on store forwarding (a sixth of `decodeBlock`).
    @inline(__always) var endsBlock: Bool { endsBlock(handlerEndsBlock: handler.endsBlock) }

    /// `endsBlock`, given `handler.endsBlock` (read from `MachineCore.endsBlockTable`).
    @inline(__always) func endsBlock(handlerEndsBlock: Bool) -> Bool {
        handlerEndsBlock | ((handler == .movToCR) & (cond == 0)) | ((handler == .lmsw) & (codeMode == .bits16))
    }

    /// The address of the next instruction.
    @inline(__always) public var nextAddress: UInt64 { address &+ UInt64(length) }

    /// A fast form counted as `alu` (the other fast form, a Jcc, as `branch taken`).
    @inline(__always) var isFastALU: Bool { handler.isFast & (form == CostForm.alu.rawValue) }

    /// The instruction an Op stands for: every field but where it sits in a cached block
    /// (`restCount`, `restFastALU`, `restCycles`, `carryHint`, `entry`), so that an Op a hook sees in the cache equals
    /// the same instruction decoded afresh.
    public static func == (a: Op, b: Op) -> Bool {
        a.handler == b.handler && a.length == b.length && a.size == b.size && a.srcSize == b.srcSize
            && a.dstKind == b.dstKind && a.dstReg == b.dstReg && a.srcKind == b.srcKind && a.srcReg == b.srcReg
            && a.cond == b.cond && a.prefixes == b.prefixes && a.memBase == b.memBase && a.memIndex == b.memIndex
            && a.memScale == b.memScale && a.addressSize == b.addressSize && a.segment == b.segment
            && a.codeMode == b.codeMode && a.cost == b.cost && a.form == b.form && a.instructionID == b.instructionID
            && a.disp == b.disp && a.imm == b.imm && a.address == b.address
    }
}

/// Segment of a memory operand. Bases are 0 except FS and GS in 64-bit mode.
public enum SegmentOverride: UInt8, Sendable {
    case data = 0, stack, fs, gs
}
