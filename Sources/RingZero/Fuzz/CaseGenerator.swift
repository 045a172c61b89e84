/// One fuzz case: a starting state (a `ringzero run --state` file, mode included) and a
/// sequence of instructions, kept as separate chunks so a reproducer can be minimized by
/// dropping them. A chunk is one instruction of the mission with the MOVs that load its
/// operands.
public struct FuzzCase: Sendable {
    public var mode: OperatingMode
    public var state: JSONValue
    public var chunks: [[UInt8]]
    /// For a host-oracle case: the check whose instruction `chunks` holds.
    public var hostCheck: HostCheck? = nil

    /// The machine code, loaded at 0x1000.
    public var blob: [UInt8] { chunks.flatMap { $0 } }
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
public struct CaseGenerator: Sendable {
    public let profile: CPUProfile
    public let length: Int
    public let fixedMode: OperatingMode?
    private var random: SplitMix64

    /// Where the VMXON operands live: pointer slots, each naming one kind of region.
    static let pointerSlots: [UInt16] = [0x2000, 0x2008, 0x2010, 0x2018, 0x2020, 0x2028, 0x2030]

    public init(seed: UInt64, profile: CPUProfile, length: Int = 16, mode: OperatingMode? = nil) {
        self.profile = profile
        self.length = max(1, length)
        self.fixedMode = mode
        random = SplitMix64(seed: seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    private mutating func next() -> UInt64 { random.next() }

    private mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    private mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    private mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    private var msr: (UInt32) -> UInt64 { { [profile] i in profile.msrReset(i) ?? 0 } }

    /// The next case.
    public mutating func nextCase() -> FuzzCase {
        let mode = fixedMode ?? pick([.long, .long, .long, .protected, .protected, .compat, .real, .v8086])
        let code: CodeMode = switch mode {
        case .long: .bits64
        case .protected, .compat: .bits32
        case .real, .v8086: .bits16
        }
        let encoder = InstructionEncoder(mode: code)
        var chunks: [[UInt8]] = []
        for _ in 0..<length { chunks.append(instruction(encoder)) }
        return FuzzCase(mode: mode, state: startingState(mode), chunks: chunks)
    }

    /// A raw case: random bytes, or a blob from `corpus` with a few bytes changed, inserted or
    /// removed, run from a mode's default state. Each byte is a chunk, so minimizing drops bytes.
    public mutating func nextRawCase(corpus: [[UInt8]] = []) -> FuzzCase {
        let mode = fixedMode ?? pick([.long, .long, .protected, .compat, .real, .v8086])
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
        return FuzzCase(mode: mode, state: startingState(mode), chunks: bytes.map { [$0] })
    }

    /// A host-oracle case: one unprivileged integer instruction with operands from the edges
    /// (zero, one, all ones, the sign bits) or random, and random starting status flags.
    public mutating func nextHostCase() -> FuzzCase {
        let operation = pick(HostOperation.allCases)
        let size: UInt8 = operation == .imul ? pick([2, 4, 8]) : pick([1, 2, 4, 8])
        let edges: [UInt64] = [0, 1, 2, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
                               0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, .max]
        let a = chance(40) ? pick(edges) : next()
        var b = chance(40) ? pick(edges) : next()
        if operation.isShift && chance(70) { b = UInt64(below(70)) }
        let check = HostCheck(operation: operation, size: size, a: a, b: b, flags: next() & RFLAGS.status)
        return check.fuzzCase
    }

    // MARK: Operand pools

    private mutating func cr0Value() -> UInt64 {
        let fixed0 = msr(MSRIndex.IA32_VMX_CR0_FIXED0), fixed1 = msr(MSRIndex.IA32_VMX_CR0_FIXED1)
        let base: [UInt64] = [0x8005_0033, 0x8000_0031, 0x6000_0010, 0x11, 0x33, 0x8000_0011, 0x2000_0033, 0x4000_0033,
                              fixed0, fixed0 | 0x10, fixed1 & 0xFFFF_FFFF, 0x1_8005_0033]
        var v = pick(base)
        if chance(30) { v ^= 1 << UInt64(pick([0, 1, 2, 3, 5, 16, 18, 29, 30, 31])) }
        return v
    }

    private mutating func cr4Value() -> UInt64 {
        let fixed0 = msr(MSRIndex.IA32_VMX_CR4_FIXED0), fixed1 = msr(MSRIndex.IA32_VMX_CR4_FIXED1)
        let base: [UInt64] = [0x620, 0x2620, 0x6620, 0x4620, 0x20, 0x2020, 0x4000, 0x6000, fixed0 | 0x620, fixed1, 0x2_0620]
        var v = pick(base)
        if chance(35) { v ^= 1 << UInt64(pick([2, 5, 7, 12, 13, 14, 15, 16, 17, 18, 20, 21, 23, 32])) }
        return v
    }

    private mutating func featureControlValue() -> UInt64 {
        pick([0, 1, 3, 4, 5, 6, 7, 0xFF07, 0xFF05, 0x8005, 0x7F07, 0xFF06, 0x4_0005, 0x10_0001, 0x100])
    }

    private mutating func msrIndex() -> UInt32 {
        pick([MSRIndex.IA32_FEATURE_CONTROL, MSRIndex.IA32_FEATURE_CONTROL, MSRIndex.IA32_EFER, MSRIndex.IA32_TIME_STAMP_COUNTER,
              MSRIndex.IA32_APIC_BASE, MSRIndex.IA32_PAT, MSRIndex.IA32_SYSENTER_CS, MSRIndex.IA32_SYSENTER_EIP,
              MSRIndex.IA32_LSTAR, MSRIndex.IA32_CSTAR, MSRIndex.IA32_FS_BASE, MSRIndex.IA32_TSC_ADJUST,
              MSRIndex.IA32_SMM_MONITOR_CTL, MSRIndex.IA32_SMBASE, MSRIndex.IA32_TSC_AUX,
              MSRIndex.IA32_VMX_BASIC + UInt32(below(18)), 0x1234, 0xC000_0104])
    }

    private mutating func msrValue(_ index: UInt32) -> UInt64 {
        switch index {
        case MSRIndex.IA32_FEATURE_CONTROL: return featureControlValue()
        case MSRIndex.IA32_EFER: return pick([0, 0x1, 0x100, 0x500, 0x501, 0xD01, 0x901, 0x1000, 0x400])
        case MSRIndex.IA32_APIC_BASE: return pick([0xFEE0_0900, 0xFEE0_0800, 0xFEE0_0D00, 0xFEE0_0500, 0xFEE0_0901, 0x80_FEE0_0900])
        case MSRIndex.IA32_PAT: return pick([0x0007_0406_0007_0406, 0x0007_0406_0007_0402, 0x0707_0707_0707_0707])
        default:
            return pick([0, 1, 0xFFFF_FFFF, 0x0000_7FFF_FFFF_F000, 0xFFFF_8000_0000_0000, 0x0000_8000_0000_0000, next()])
        }
    }

    // MARK: Instructions

    /// One chunk: an instruction of the menu with its operand loads.
    private mutating func instruction(_ e: InstructionEncoder) -> [UInt8] {
        let a = UInt8(pick([0, 1, 2, 3, 5, 6, 7])), b = UInt8(pick([0, 1, 2, 3, 5, 6, 7]))
        switch below(20) {
        case 0, 1:
            return e.movImmediate(0, cr0Value()) + e.movToCR(0, from: 0)
        case 2, 3:
            return e.movImmediate(0, cr4Value()) + e.movToCR(4, from: 0)
        case 4:
            let value: UInt64 = pick([0x1000, 0x5000, 0x7_0000_1000, 0x80_0000_1000, 0x8000_0000_0000_1000, 0x1003])
            return e.movImmediate(0, value) + e.movToCR(3, from: 0)
        case 5:
            // CR2, and CR8 in 64-bit code.
            if e.mode == .bits64 && chance(50) { return e.movImmediate(0, pick([0, 5, 15, 16])) + e.movToCR(8, from: 0) }
            return e.movImmediate(0, next()) + e.movToCR(2, from: 0)
        case 6:
            let cr = pick(e.mode == .bits64 ? [0, 2, 3, 4, 8] : [0, 2, 3, 4]) as UInt8
            return e.movFromCR(cr, to: a)
        case 7:
            return chance(50) ? e.clts : e.movImmediate(0, pick([0x0, 0x1, 0xE, 0xF, 0xFFF0])) + e.lmswAX
        case 8, 9:
            let index = msrIndex()
            let value = msrValue(index)
            return e.movImmediate(1, UInt64(index)) + e.movImmediate(0, value & 0xFFFF_FFFF) + e.movImmediate(2, value >> 32) + e.wrmsr
        case 10:
            return e.movImmediate(1, UInt64(msrIndex())) + e.rdmsr
        case 11, 12:
            // GETSEC: every leaf, with module addresses and sizes on and off the rules.
            let leaf: UInt64 = pick([0, 0, 1, 2, 3, 4, 4, 5, 6, 7, 8, 9])
            return e.movImmediate(0, leaf) + e.movImmediate(3, pick([0, 0x10_0000, 0x10_0800, 0x1000, 0xFFFF_F000]))
                + e.movImmediate(1, pick([0x1000, 0x40, 0x41, 0x8000, 0x8040, 0]))
                + e.movImmediate(2, pick([0, 0, 1])) + e.getsec
        case 13, 14:
            return e.vmxon(at: pick(Self.pointerSlots))
        case 15:
            return e.vmxoff
        case 16:
            return e.alu(below(7), a, b)
        case 17:
            return chance(50) ? e.step(a, decrement: chance(50)) : e.jccNext(UInt8(below(16)))
        case 18:
            return chance(50) ? e.push(a) + e.pop(b) : e.movImmediate(a, next())
        default:
            return pick([e.cpuid, e.rdtsc, e.movImmediate(0, 1) + e.cpuid, e.hlt])
        }
    }

    // MARK: Starting state

    private mutating func startingState(_ mode: OperatingMode) -> JSONValue {
        var registers: [(String, JSONValue)] = []
        let defaults = MachineSetup.defaults(for: mode, memorySize: 16 << 20, profile: profile)
        var cr0 = defaults.cr0
        var cr4 = defaults.cr4
        if profile.hasVMX && chance(60) { cr4 |= CR4.VMXE }
        if profile.hasSMX && chance(40) { cr4 |= CR4.SMXE }
        // VMX root operation only where the processor can hold it: protected or IA-32e mode
        // with CR0 and CR4 inside the fixed-bit masks (paging on; it is not walked).
        let root = profile.hasVMX && cr4 & CR4.VMXE != 0 && mode != .real && mode != .v8086 && chance(20)
        if root {
            cr0 |= msr(MSRIndex.IA32_VMX_CR0_FIXED0)
            cr4 |= msr(MSRIndex.IA32_VMX_CR4_FIXED0)
        }
        registers.append(("cr0", .hex(cr0)))
        registers.append(("cr4", .hex(cr4)))
        registers.append(("rflags", .hex(RFLAGS.reserved1 | (chance(30) ? RFLAGS.IF : 0) | (mode == .v8086 ? RFLAGS.VM : 0))))

        var top: [(String, JSONValue)] = [("mode", .string(mode.rawValue))]
        if mode == .protected || mode == .long || mode == .compat, chance(15) { top.append(("cpl", .int(pick([1, 3])))) }
        top.append(("registers", .object(registers)))

        var msrs: [(String, JSONValue)] = []
        if chance(70) { msrs.append(("0x3a", .hex(profile.hasVMX ? featureControlValue() : pick([0, 1] as [UInt64])))) }
        top.append(("msrs", .object(msrs)))

        if root {
            var vmx: [(String, JSONValue)] = [("operation", .string("root")), ("vmxonPointer", .hex(0x3000 as UInt64))]
            if chance(30) { vmx.append(("currentVmcs", .hex(0x6000 as UInt64))) }
            if chance(10) { vmx.append(("dualMonitor", .bool(true))) }
            top.append(("vmx", .object(vmx)))
        }
        if profile.hasSMX && chance(15) { top.append(("smx", .object([("operation", .bool(true))]))) }
        if chance(5) { top.append(("signals", .object([("a20m", .bool(true))]))) }
        if chance(20) { top.append(("platform", .object([("txtChipset", .bool(chance(50)))]))) }

        // VMXON operands: pointer slots and the regions they name.
        let revision = UInt32(truncatingIfNeeded: msr(MSRIndex.IA32_VMX_BASIC)) & 0x7FFF_FFFF
        let limit = UInt64(1) << UInt64(profile.maxPhysicalAddress)
        let pointers: [UInt64] = [0x3000, 0x3001, limit, 0x4000, 0x5000, limit - 0x1000, 0x3000 | (1 << 32)]
        var memory: [(String, JSONValue)] = []
        let slotBytes = pointers.flatMap { p in (0..<8).map { UInt8(truncatingIfNeeded: p >> (8 * UInt64($0))) } }
        memory.append(("0x2000", .string(hex(slotBytes))))
        memory.append(("0x3000", .string(hex(le32(revision)))))
        memory.append(("0x4000", .string(hex(le32(revision &+ 1)))))
        memory.append(("0x5000", .string(hex(le32(revision | 0x8000_0000)))))
        top.append(("memory", .array(memory.map { .object([("address", .string($0.0)), ("hex", $0.1)]) })))
        return .object(top)
    }

    private func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

    private func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
