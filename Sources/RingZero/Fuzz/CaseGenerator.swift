/// One fuzz case: a starting state (a `ringzero run --state` file, mode included) and a
/// sequence of instructions, kept as separate chunks so a reproducer can be minimized by
/// dropping them. A chunk is one instruction of the mission with the MOVs that load its
/// operands; the generator's `length` counts instructions, those MOVs included.
public struct FuzzCase: Sendable {
    public var mode: OperatingMode
    public var chunks: [[UInt8]]
    /// For a host-oracle case: the check whose instruction `chunks` holds.
    public var hostCheck: HostCheck? = nil
    /// The generator's choices, while `state` is theirs: the fuzzer's fast path applies them
    /// without going through JSON. Setting `state` drops them.
    public private(set) var start: StartingState?
    private var explicitState: JSONValue?

    /// The state file.
    public var state: JSONValue {
        get { explicitState ?? start?.json ?? hostCheck?.state ?? .object([("mode", .string(mode.rawValue))]) }
        set {
            explicitState = newValue
            start = nil
        }
    }

    public init(mode: OperatingMode, state: JSONValue, chunks: [[UInt8]], hostCheck: HostCheck? = nil) {
        self.mode = mode
        self.chunks = chunks
        self.hostCheck = hostCheck
        explicitState = state
    }

    init(start: StartingState, chunks: [[UInt8]]) {
        mode = start.mode
        self.chunks = chunks
        self.start = start
    }

    /// A host-oracle case: its state file is the check's (`HostCheck.state`).
    init(hostCheck: HostCheck) {
        mode = .long
        chunks = [hostCheck.code]
        self.hostCheck = hostCheck
    }

    /// Whether the fast path can run it: generated, with the generator's state.
    var hasGeneratedState: Bool { start != nil || (hostCheck != nil && explicitState == nil) }

    /// The machine code, loaded at 0x1000.
    public var blob: [UInt8] { chunks.flatMap { $0 } }
}

/// A generated case in flat form: one byte buffer with the chunk and instruction boundaries,
/// reused from case to case so that generating allocates nothing.
///
/// Its buffers are its own memory, not arrays: reaching an array's elements through the
/// worker's pointer to the buffer retained and released it each time (six times a case). It
/// cannot be copied, so nothing else frees or shares them.
struct CaseBuffer: ~Copyable {
    /// The machine code is `storage[0..<count]`; the storage keeps its size from case to case,
    /// `ByteSink.slack` bytes past what was asked for included.
    private(set) var storage = UnsafeMutableBufferPointer<UInt8>(start: nil, count: 0)
    private(set) var count = 0
    /// Where each instruction ends (`InstructionEnd`), the first `instructionCount` of them.
    private(set) var ends = UnsafeMutableBufferPointer<InstructionEnd>(start: nil, count: 0)
    private(set) var instructionCount = 0
    var start: StartingState?
    var hostCheck: HostCheck?
    /// The code mode the instructions were encoded for.
    var codeMode = CodeMode.bits64

    init() {}

    deinit {
        storage.deallocate()
        ends.deallocate()
    }

    mutating func reset() {
        count = 0
        instructionCount = 0
        start = nil
        hostCheck = nil
    }

    /// Let `body` append (from empty) through a `ByteSink` of `capacity` bytes, marking the
    /// ends of chunks on it.
    mutating func write(capacity: Int, _ body: (inout ByteSink) -> Void) {
        precondition(count == 0)
        if storage.count < capacity + ByteSink.slack {
            storage.deallocate()
            storage = .allocate(capacity: capacity + ByteSink.slack)
            storage.initialize(repeating: 0)
        }
        if ends.count < capacity {
            ends.deallocate()
            ends = .allocate(capacity: capacity)
            ends.initialize(repeating: InstructionEnd(offset: 0, immediateBytes: 0, template: 0))
        }
        var out = ByteSink(storage.baseAddress!, capacity: capacity, ends: ends.baseAddress!)
        body(&out)
        count = out.count
        instructionCount = out.instructionCount
    }

    /// The case as a value of its own (for reproducers, minimizing, the full checks).
    var fuzzCase: FuzzCase {
        if let hostCheck { return hostCheck.fuzzCase }
        var chunks: [[UInt8]] = []
        var from = 0
        for end in ends[0..<instructionCount] where end.endsChunk {
            chunks.append(Array(storage[from..<Int(end.offset)]))
            from = Int(end.offset)
        }
        return FuzzCase(start: start!, chunks: chunks)
    }
}

/// Builds fuzz cases from a seed: the same seed, profile, length and mode give the same cases.
///
/// Sequences mix the mission's instructions (MOV to/from CR0/CR2/CR3/CR4/CR8, CLTS, LMSW,
/// RDMSR/WRMSR, every GETSEC leaf, VMXON, VMXOFF) with the integer instructions around them, and
/// take their operands from pools chosen to hit the rules: CR0/CR4 values on and one bit off the
/// profile's fixed-bit masks, each IA32_FEATURE_CONTROL pattern, VMXON pointers aligned,
/// misaligned, at and beyond MAXPHYADDR, regions with the right, a wrong and a bit-31 revision
/// identifier. The starting state varies the mode, CPL, CR4.VMXE/SMXE, IA32_FEATURE_CONTROL,
/// VMX and SMX operation, A20M and the TXT chipset.
///
/// Generating writes into a reused buffer and draws from pools computed once per generator, so
/// a case costs no allocation; `reseed` starts the next case's stream.
public struct CaseGenerator: Sendable {
    public let profile: CPUProfile
    public let length: Int
    public let fixedMode: OperatingMode?
    private var random: SplitMix64
    /// Profile values the pools need, read once.
    private let cr0Pool: [UInt64], cr4Pool: [UInt64]
    private let hasVMX: Bool, hasSMX: Bool
    private let cr0Fixed0: UInt64, cr4Fixed0: UInt64
    private let revision: UInt32, physicalLimit: UInt64
    /// Each mode's default CR0 and CR4, by `OperatingMode.index` (not the whole default state,
    /// whose copy per case was a tenth of generating it).
    private let defaultControlRegisters: [(cr0: UInt64, cr4: UInt64)]

    /// Where the VMXON operands live: pointer slots, each naming one kind of region.
    static let pointerSlots: [UInt16] = [0x2000, 0x2008, 0x2010, 0x2018, 0x2020, 0x2028, 0x2030]

    public init(seed: UInt64, profile: CPUProfile, length: Int = 16, mode: OperatingMode? = nil) {
        self.profile = profile
        self.length = max(1, length)
        self.fixedMode = mode
        random = SplitMix64(seed: seed ^ 0x5DEE_CE66_D1CE_4E5B)
        let msr = { (i: UInt32) in profile.msrReset(i) ?? 0 }
        cr0Fixed0 = msr(MSRIndex.IA32_VMX_CR0_FIXED0)
        cr4Fixed0 = msr(MSRIndex.IA32_VMX_CR4_FIXED0)
        let cr0Fixed1 = msr(MSRIndex.IA32_VMX_CR0_FIXED1), cr4Fixed1 = msr(MSRIndex.IA32_VMX_CR4_FIXED1)
        cr0Pool = [0x8005_0033, 0x8000_0031, 0x6000_0010, 0x11, 0x33, 0x8000_0011, 0x2000_0033, 0x4000_0033,
                   cr0Fixed0, cr0Fixed0 | 0x10, cr0Fixed1 & 0xFFFF_FFFF, 0x1_8005_0033]
        cr4Pool = [0x620, 0x2620, 0x6620, 0x4620, 0x20, 0x2020, 0x4000, 0x6000, cr4Fixed0 | 0x620, cr4Fixed1, 0x2_0620]
        hasVMX = profile.hasVMX
        hasSMX = profile.hasSMX
        revision = UInt32(truncatingIfNeeded: msr(MSRIndex.IA32_VMX_BASIC)) & 0x7FFF_FFFF
        physicalLimit = UInt64(1) << UInt64(profile.maxPhysicalAddress)
        defaultControlRegisters = OperatingMode.allCases.map {
            let state = MachineSetup.defaults(for: $0, memorySize: 16 << 20, profile: profile)
            return (state.cr0, state.cr4)
        }
    }

    /// The VMXON operands every generated state file writes (the same for every case).
    var profileMemory: [(address: UInt64, bytes: [UInt8])] {
        StartingState(mode: .long, cr0: 0, cr4: 0, rflags: 0, revision: revision, physicalLimit: physicalLimit).memory
    }

    /// Start the stream of another seed, keeping the pools.
    mutating func reseed(_ seed: UInt64) { random = SplitMix64(seed: seed ^ 0x5DEE_CE66_D1CE_4E5B) }

    private mutating func next() -> UInt64 { random.next() }

    /// A number below `n`: the high half of a 64-by-64-bit product (Lemire), where a remainder
    /// cost a 64-bit division, several per instruction generated.
    private mutating func below(_ n: Int) -> Int { Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(truncatingIfNeeded: n)).high) }
    private mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    private mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    /// The next case.
    public mutating func nextCase() -> FuzzCase {
        var buffer = CaseBuffer()
        nextCase(into: &buffer)
        return buffer.fuzzCase
    }

    private static let modes: [OperatingMode] = [.long, .long, .long, .protected, .protected, .compat, .real, .v8086]
    private static let rawModes: [OperatingMode] = [.long, .long, .protected, .compat, .real, .v8086]

    /// The next case, written over `buffer`.
    mutating func nextCase(into buffer: inout CaseBuffer) {
        buffer.reset()
        let mode = fixedMode ?? pick(Self.modes)
        let code: CodeMode = switch mode {
        case .long: .bits64
        case .protected, .compat: .bits32
        case .real, .v8086: .bits16
        }
        let encoder = InstructionEncoder(mode: code)
        buffer.codeMode = code
        // No instruction of the menu is longer than 15 bytes.
        buffer.write(capacity: 15 * length) { out in
            var instructions = 0
            while instructions < length {
                instructions += instruction(encoder, &out, budget: length - instructions)
                out.endChunk()
            }
        }
        buffer.start = startingState(mode)
    }

    /// A raw case: random bytes, or a blob from `corpus` with a few bytes changed, inserted or
    /// removed, run from a mode's default state. Each byte is a chunk, so minimizing drops bytes.
    public mutating func nextRawCase(corpus: [[UInt8]] = []) -> FuzzCase {
        let mode = fixedMode ?? pick(Self.rawModes)
        var bytes: [UInt8]
        if !corpus.isEmpty && chance(70) {
            bytes = pick(corpus)
            for _ in 0..<(1 + below(4)) where !bytes.isEmpty {
                let at = below(bytes.count)
                switch below(3) {
                case 0: bytes[at] = UInt8(truncatingIfNeeded: next())
                case 1: bytes.insert(UInt8(truncatingIfNeeded: next()), at: at)
                default: bytes.remove(at: at)
                }
            }
        } else {
            bytes = (0..<(8 + below(56))).map { _ in UInt8(truncatingIfNeeded: next()) }
        }
        if bytes.isEmpty { bytes = [0x90] }
        return FuzzCase(start: startingState(mode), chunks: bytes.map { [$0] })
    }

    private static let edges: [UInt64] = [0, 1, 2, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
                                          0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, .max]
    private static let imulSizes: [UInt8] = [2, 4, 8], sizes: [UInt8] = [1, 2, 4, 8]

    /// A host-oracle case: one unprivileged integer instruction with operands from the edges
    /// (zero, one, all ones, the sign bits) or random, and random starting status flags.
    public mutating func nextHostCase() -> FuzzCase {
        var buffer = CaseBuffer()
        nextHostCase(into: &buffer)
        return buffer.fuzzCase
    }

    mutating func nextHostCase(into buffer: inout CaseBuffer) {
        buffer.reset()
        let operation = pick(HostOperation.allCases)
        let size: UInt8 = operation == .imul ? pick(Self.imulSizes) : pick(Self.sizes)
        let a = chance(40) ? pick(Self.edges) : next()
        var b = chance(40) ? pick(Self.edges) : next()
        if operation.isShift && chance(70) { b = UInt64(below(70)) }
        let check = HostCheck(operation: operation, size: size, a: a, b: b, flags: next() & RFLAGS.status)
        buffer.codeMode = .bits64
        buffer.write(capacity: 4) { out in
            check.encode(&out)
            out.endChunk()
        }
        buffer.hostCheck = check
    }

    // MARK: Operand pools

    private static let cr0Bits: [UInt64] = [0, 1, 2, 3, 5, 16, 18, 29, 30, 31]
    private static let cr4Bits: [UInt64] = [2, 5, 7, 12, 13, 14, 15, 16, 17, 18, 20, 21, 23, 32]

    private mutating func cr0Value() -> UInt64 {
        var v = pick(cr0Pool)
        if chance(30) { v ^= 1 << pick(Self.cr0Bits) }
        return v
    }

    private mutating func cr4Value() -> UInt64 {
        var v = pick(cr4Pool)
        if chance(35) { v ^= 1 << pick(Self.cr4Bits) }
        return v
    }

    private static let featureControlValues: [UInt64] = [0, 1, 3, 4, 5, 6, 7, 0xFF07, 0xFF05, 0x8005, 0x7F07, 0xFF06, 0x4_0005, 0x10_0001, 0x100]

    private mutating func featureControlValue() -> UInt64 { pick(Self.featureControlValues) }

    /// MSR indices; 0 stands for one of the 18 IA32_VMX_* capability MSRs from IA32_VMX_BASIC on.
    private static let msrIndices: [UInt32] = [
        MSRIndex.IA32_FEATURE_CONTROL, MSRIndex.IA32_FEATURE_CONTROL, MSRIndex.IA32_EFER, MSRIndex.IA32_TIME_STAMP_COUNTER,
        MSRIndex.IA32_APIC_BASE, MSRIndex.IA32_PAT, MSRIndex.IA32_SYSENTER_CS, MSRIndex.IA32_SYSENTER_EIP,
        MSRIndex.IA32_LSTAR, MSRIndex.IA32_CSTAR, MSRIndex.IA32_FS_BASE, MSRIndex.IA32_TSC_ADJUST,
        MSRIndex.IA32_SMM_MONITOR_CTL, MSRIndex.IA32_SMBASE, MSRIndex.IA32_TSC_AUX, 0, 0x1234, 0xC000_0104,
    ]

    private mutating func msrIndex() -> UInt32 {
        let index = pick(Self.msrIndices)
        return index == 0 ? MSRIndex.IA32_VMX_BASIC + UInt32(below(18)) : index
    }

    private static let eferValues: [UInt64] = [0, 0x1, 0x100, 0x500, 0x501, 0xD01, 0x901, 0x1000, 0x400]
    private static let apicBaseValues: [UInt64] = [0xFEE0_0900, 0xFEE0_0800, 0xFEE0_0D00, 0xFEE0_0500, 0xFEE0_0901, 0x80_FEE0_0900]
    private static let patValues: [UInt64] = [0x0007_0406_0007_0406, 0x0007_0406_0007_0402, 0x0707_0707_0707_0707]
    private static let msrEdges: [UInt64] = [0, 1, 0xFFFF_FFFF, 0x0000_7FFF_FFFF_F000, 0xFFFF_8000_0000_0000, 0x0000_8000_0000_0000]

    private mutating func msrValue(_ index: UInt32) -> UInt64 {
        switch index {
        case MSRIndex.IA32_FEATURE_CONTROL: return featureControlValue()
        case MSRIndex.IA32_EFER: return pick(Self.eferValues)
        case MSRIndex.IA32_APIC_BASE: return pick(Self.apicBaseValues)
        case MSRIndex.IA32_PAT: return pick(Self.patValues)
        default:
            // One time in seven a random value, else an edge.
            let i = below(7)
            return i == 6 ? next() : Self.msrEdges[i]
        }
    }

    // MARK: Instructions

    private static let dataRegisters: [UInt8] = [0, 1, 2, 3, 5, 6, 7]
    private static let cr3Values: [UInt64] = [0x1000, 0x5000, 0x7_0000_1000, 0x80_0000_1000, 0x8000_0000_0000_1000, 0x1003]
    private static let cr8Values: [UInt64] = [0, 5, 15, 16]
    private static let readableCRs64: [UInt8] = [0, 2, 3, 4, 8], readableCRs: [UInt8] = [0, 2, 3, 4]
    private static let lmswValues: [UInt64] = [0x0, 0x1, 0xE, 0xF, 0xFFF0]
    private static let getsecLeaves: [UInt64] = [0, 0, 1, 2, 3, 4, 4, 5, 6, 7, 8, 9]
    private static let moduleAddresses: [UInt64] = [0, 0x10_0000, 0x10_0800, 0x1000, 0xFFFF_F000]
    private static let moduleSizes: [UInt64] = [0x1000, 0x40, 0x41, 0x8000, 0x8040, 0]
    private static let getsecEDX: [UInt64] = [0, 0, 1]

    /// Instructions each choice of `instruction` takes at most (operand loads included).
    private static let choiceLengths: [Int] = [2, 2, 2, 2, 2, 2, 1, 2, 4, 4, 2, 5, 5, 1, 1, 1, 1, 1, 2, 2]
    /// The choices of one instruction, for the end of a sequence.
    private static let singleChoices: [Int] = [6, 13, 15, 16, 17, 19]

    /// One chunk: an instruction of the menu with its operand loads, at most `budget`
    /// instructions in all. Returns how many it wrote.
    private mutating func instruction(_ e: InstructionEncoder, _ out: inout ByteSink, budget: Int) -> Int {
        let a = pick(Self.dataRegisters), b = pick(Self.dataRegisters)
        var choice = below(20)
        if Self.choiceLengths[choice] > budget { choice = pick(Self.singleChoices) }
        let short = budget < 2
        switch choice {
        case 0, 1:
            e.movImmediate(0, cr0Value(), &out); e.movToCR(0, from: 0, &out)
            return 2
        case 2, 3:
            e.movImmediate(0, cr4Value(), &out); e.movToCR(4, from: 0, &out)
            return 2
        case 4:
            e.movImmediate(0, pick(Self.cr3Values), &out); e.movToCR(3, from: 0, &out)
            return 2
        case 5:
            // CR2, and CR8 in 64-bit code.
            if e.mode == .bits64 && chance(50) {
                e.movImmediate(0, pick(Self.cr8Values), &out); e.movToCR(8, from: 0, &out)
            } else {
                e.movImmediate(0, next(), &out); e.movToCR(2, from: 0, &out)
            }
            return 2
        case 6:
            e.movFromCR(pick(e.mode == .bits64 ? Self.readableCRs64 : Self.readableCRs), to: a, &out)
            return 1
        case 7:
            if chance(50) || short {
                e.twoByte(InstructionEncoder.clts, &out)
                return 1
            }
            e.movImmediate(0, pick(Self.lmswValues), &out); e.lmswAX(&out)
            return 2
        case 8, 9:
            let index = msrIndex()
            let value = msrValue(index)
            e.movImmediate(1, UInt64(index), &out)
            e.movImmediate(0, value & 0xFFFF_FFFF, &out)
            e.movImmediate(2, value >> 32, &out)
            e.twoByte(InstructionEncoder.wrmsr, &out)
            return 4
        case 10:
            e.movImmediate(1, UInt64(msrIndex()), &out); e.twoByte(InstructionEncoder.rdmsr, &out)
            return 2
        case 11, 12:
            // GETSEC: every leaf, with module addresses and sizes on and off the rules.
            e.movImmediate(0, pick(Self.getsecLeaves), &out)
            e.movImmediate(3, pick(Self.moduleAddresses), &out)
            e.movImmediate(1, pick(Self.moduleSizes), &out)
            e.movImmediate(2, pick(Self.getsecEDX), &out)
            e.twoByte(InstructionEncoder.getsec, &out)
            return 5
        case 13, 14:
            e.vmxon(at: pick(Self.pointerSlots), &out)
            return 1
        case 15:
            e.vmxoff(&out)
            return 1
        case 16:
            e.alu(below(7), a, b, &out)
            return 1
        case 17:
            if chance(50) { e.step(a, decrement: chance(50), &out) } else { e.jccNext(UInt8(below(16)), &out) }
            return 1
        case 18:
            if chance(50) && !short {
                e.push(a, &out); e.pop(b, &out)
                return 2
            }
            e.movImmediate(a, next(), &out)
            return 1
        default:
            switch below(4) {
            case 0: e.twoByte(InstructionEncoder.cpuid, &out)
            case 1: e.twoByte(InstructionEncoder.rdtsc, &out)
            case 2 where !short:
                e.movImmediate(0, 1, &out); e.twoByte(InstructionEncoder.cpuid, &out)
                return 2
            case 2: e.twoByte(InstructionEncoder.cpuid, &out)
            default: e.hlt(&out)
            }
            return 1
        }
    }

    // MARK: Starting state

    private static let userCPLs: [UInt8] = [1, 3]

    private mutating func startingState(_ mode: OperatingMode) -> StartingState {
        var (cr0, cr4) = defaultControlRegisters[mode.index]
        if hasVMX && chance(60) { cr4 |= CR4.VMXE }
        if hasSMX && chance(40) { cr4 |= CR4.SMXE }
        // VMX root operation only where the processor can hold it: protected or IA-32e mode
        // with CR0 and CR4 inside the fixed-bit masks (paging on; it is not walked).
        let root = hasVMX && cr4 & CR4.VMXE != 0 && mode != .real && mode != .v8086 && chance(20)
        if root {
            cr0 |= cr0Fixed0
            cr4 |= cr4Fixed0
        }
        let rflags = RFLAGS.reserved1 | (chance(30) ? RFLAGS.IF : 0) | (mode == .v8086 ? RFLAGS.VM : 0)
        var state = StartingState(mode: mode, cr0: cr0, cr4: cr4, rflags: rflags, revision: revision, physicalLimit: physicalLimit)
        if mode == .protected || mode == .long || mode == .compat, chance(15) { state.cpl = pick(Self.userCPLs) }
        if chance(70) { state.featureControl = hasVMX ? featureControlValue() : UInt64(below(2)) }
        if root {
            state.vmxRoot = true
            state.currentVMCS = chance(30)
            state.dualMonitor = chance(10)
        }
        state.smxOperation = hasSMX && chance(15)
        state.a20m = chance(5)
        if chance(20) { state.txtChipset = chance(50) }
        return state
    }
}
