#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The values of every MSR a profile has, found by index through a small open-addressing table
/// so RDMSR/WRMSR cost a hash probe, not a dictionary lookup with hashing of a generic key.
public struct MSRFile: Equatable, Sendable {
    public private(set) var descriptors: [MSRDescriptor]
    /// What RDMSR and WRMSR need of each descriptor, parallel to `descriptors`, as plain values
    /// (no name string): reading one costs no reference counting.
    private(set) var behaviours: [MSRBehaviour]
    /// The MSR indices, parallel to `descriptors`, for the lookup.
    private var indices: [UInt32]
    /// Current values, parallel to `descriptors`.
    var values: MSRValues
    /// Open-addressing table of slot + 1 (0 = empty), sized to a power of two.
    private var table: [Int32]
    private var tableMask: Int

    init(descriptors: [MSRDescriptor]) {
        self.descriptors = descriptors
        self.behaviours = descriptors.map(MSRBehaviour.init)
        self.indices = descriptors.map(\.index)
        self.values = MSRValues(descriptors.map(\.reset))
        var size = 16
        while size < descriptors.count * 4 { size *= 2 }
        table = Array(repeating: 0, count: size)
        tableMask = size - 1
        for (slot, d) in descriptors.enumerated() {
            var h = Self.hash(d.index) & tableMask
            while table[h] != 0 { h = (h + 1) & tableMask }
            table[h] = Int32(slot + 1)
        }
    }

    @inline(__always) private static func hash(_ index: UInt32) -> Int {
        Int(truncatingIfNeeded: (index &* 0x9E37_79B1) >> 7)
    }

    /// The slot of an MSR, or nil when the profile lacks it.
    @inline(__always) func slot(of index: UInt32) -> Int? {
        var h = Self.hash(index) & tableMask
        while true {
            let s = Int(table[h])
            if s == 0 { return nil }
            if indices[s - 1] == index { return s - 1 }
            h = (h + 1) & tableMask
        }
    }

    public func descriptor(_ index: UInt32) -> MSRDescriptor? {
        slot(of: index).map { descriptors[$0] }
    }

    /// IA32_FEATURE_CONTROL's stored value through its slot (`ProfileFacts.featureControlSlot`);
    /// 0 when the profile lacks it.
    @inline(__always) func featureControl(slot: Int?) -> UInt64 {
        guard let slot else { return 0 }
        return values[slot]
    }

    /// The stored value (for IA32_EFER and the TSC, `Machine` supplies the live value instead).
    public func storedValue(_ index: UInt32) -> UInt64? {
        slot(of: index).map { values[$0] }
    }

    mutating func setStored(_ index: UInt32, _ value: UInt64) {
        if let s = slot(of: index) { values[s] = value }
    }

    /// Back to every reset value.
    mutating func reset() {
        values.assign(descriptors.map(\.reset))
    }

    /// A copy with values of its own, which no store into this file's reaches
    /// (`MSRValues.storeInPlace`).
    func detached() -> MSRFile {
        var copy = self
        copy.values = values.detached()
        return copy
    }
}

/// The values of an `MSRFile`, one per descriptor, in a buffer of their own. Copied on write
/// as an array is, except by `storeInPlace`: WRMSR's common case stores with no uniqueness
/// check (a runtime call, and with it a stack frame for the handler). That store is safe
/// because the machine's own file is never shared: every copy out of the machine has a
/// buffer of its own (`Machine.msrs` is `detached`, a snapshot takes `array`).
struct MSRValues: Equatable, @unchecked Sendable {
    /// Owns the buffer; a read goes through `base`, kept beside it, in one load.
    private final class Storage {
        let base: UnsafeMutablePointer<UInt64>
        let count: Int

        init(copying source: UnsafePointer<UInt64>, count: Int) {
            self.count = count
            base = .allocate(capacity: max(count, 1))
            base.initialize(from: source, count: count)
        }

        deinit { base.deallocate() }
    }

    private var storage: Storage
    private var base: UnsafeMutablePointer<UInt64>

    init(_ values: [UInt64]) {
        storage = values.withUnsafeBufferPointer { Storage(copying: $0.baseAddress!, count: $0.count) }
        base = storage.base
    }

    var count: Int { storage.count }

    /// The values as an array.
    var array: [UInt64] { Array(UnsafeBufferPointer(start: base, count: count)) }

    subscript(slot: Int) -> UInt64 {
        @inline(__always) get {
            assert(slot >= 0 && slot < count)
            return base[slot]
        }
        @inline(__always) set {
            assert(slot >= 0 && slot < count)
            makeUnique()
            base[slot] = newValue
        }
    }

    /// Store with no copy-on-write check: only into the machine's own file (see the type).
    @inline(__always) func storeInPlace(_ value: UInt64, at slot: Int) {
        assert(slot >= 0 && slot < count)
        base[slot] = value
    }

    /// Every value from `values`, which has one per slot.
    mutating func assign(_ values: [UInt64]) {
        precondition(values.count == count)
        makeUnique()
        values.withUnsafeBufferPointer { base.update(from: $0.baseAddress!, count: count) }
    }

    /// A copy with a buffer of its own.
    func detached() -> MSRValues {
        var copy = self
        copy.storage = Storage(copying: base, count: count)
        copy.base = copy.storage.base
        return copy
    }

    @inline(__always) private mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) { self = detached() }
    }

    static func == (a: MSRValues, b: MSRValues) -> Bool {
        a.count == b.count && (a.base == b.base || memcmp(a.base, b.base, a.count * MemoryLayout<UInt64>.stride) == 0)
    }
}

/// The part of an `MSRDescriptor` the instructions use, without its name.
struct MSRBehaviour: Equatable, Sendable {
    var gpMask: UInt64
    var ignoreMask: UInt64
    var lockBit: UInt64
    var readOnly: Bool
    var canonical: Bool
    var rule: MSRRule

    init(_ d: MSRDescriptor) {
        gpMask = d.gpMask
        ignoreMask = d.ignoreMask
        lockBit = d.lockBit
        readOnly = d.readOnly
        canonical = d.canonical
        rule = d.rule
    }

    /// What WRMSR of `value` stores: the bits of `ignoreMask` keep their old value.
    @inline(__always) func stored(_ value: UInt64, old: UInt64) -> UInt64 {
        (value & ~ignoreMask) | (old & ignoreMask)
    }
}

/// The MSR RDMSR or WRMSR looked up last, remembered because code reads and writes the same
/// MSR again (a read-modify-write, a loop), with what the common cases of RDMSR and WRMSR
/// (`Machine.rdmsrCommonCase`, `wrmsrCommonCase`) need of it in one place: no table lookup,
/// no array bounds checks but the value's.
struct RecentMSR {
    /// ECX of the lookup, zero-extended; `.max` before the first.
    var index: UInt64 = .max
    var slot = 0
    /// Its masks, lock bit and canonical check.
    var behaviour = MSRBehaviour(MSRDescriptor(0, ""))
    /// The cost form RDMSR of it is charged as, when RDMSR returns the stored value (not
    /// IA32_EFER, the TSC or an SMM-only MSR); else `noShortcut`. RDMSR's shortcut compares it
    /// with the Op's form: one test for both conditions.
    var storedReadForm = RecentMSR.noShortcut
    /// The cost form WRMSR of it is charged as, when WRMSR only stores, after the checks
    /// (rule `plain`, not read-only); else `noShortcut`.
    var plainWriteForm = RecentMSR.noShortcut
    /// No Op's cost form: the costs have far fewer.
    static let noShortcut = UInt16.max

    init() {}

    init(index: UInt32, slot: Int, _ behaviour: MSRBehaviour, readForm: UInt16, writeForm: UInt16) {
        self.index = UInt64(index)
        self.slot = slot
        self.behaviour = behaviour
        switch behaviour.rule {
        case .efer, .timeStampCounter, .smmOnly: break
        case .plain, .tscAdjust, .apicBase, .pat, .smmMonitorControl: storedReadForm = readForm
        }
        if behaviour.rule == .plain && !behaviour.readOnly { plainWriteForm = writeForm }
    }
}
