/// A hash table from 64-bit keys to plain values: open addressing, linear probing, a
/// multiplicative hash, and deletion by shifting the following entries back (no tombstones).
///
/// The Op cache's maps (block by address and mode, blocks by page) use it instead of
/// `Dictionary`, whose SipHash costs more per operation than decoding a short block does on
/// the fuzzer's path, where every case inserts and drops a handful of blocks. `Value` must be a
/// trivial type (no references): entries are copied bit for bit and never deinitialized.
final class KeyTable<Value> {
    private struct Storage {
        var keys: UnsafeMutablePointer<UInt64>
        var values: UnsafeMutablePointer<Value>
        var used: UnsafeMutablePointer<Bool>
        var capacity: Int
        var count: Int
    }

    /// Behind a stable pointer, so reaching it carries no exclusivity check.
    private let s: UnsafeMutablePointer<Storage>

    init(capacity: Int = 64) {
        precondition(_isPOD(Value.self), "KeyTable holds trivial values only")
        var c = 16
        while c < capacity * 2 { c <<= 1 }
        s = .allocate(capacity: 1)
        s.initialize(to: Self.storage(capacity: c))
    }

    deinit {
        Self.release(s.pointee)
        s.deallocate()
    }

    private static func storage(capacity: Int) -> Storage {
        let used = UnsafeMutablePointer<Bool>.allocate(capacity: capacity)
        used.initialize(repeating: false, count: capacity)
        return Storage(keys: .allocate(capacity: capacity), values: .allocate(capacity: capacity), used: used,
                       capacity: capacity, count: 0)
    }

    private static func release(_ t: Storage) {
        t.keys.deallocate()
        t.values.deallocate()
        t.used.deallocate()
    }

    @inline(__always) private static func home(_ key: UInt64, _ capacity: Int) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) & (capacity - 1)
    }

    var count: Int { s.pointee.count }
    var isEmpty: Bool { s.pointee.count == 0 }

    /// The slot holding `key`, or nil.
    @inline(__always) private func find(_ key: UInt64) -> Int? {
        let t = s.pointee
        var i = Self.home(key, t.capacity)
        while t.used[i] {
            if t.keys[i] == key { return i }
            i = (i + 1) & (t.capacity - 1)
        }
        return nil
    }

    subscript(key: UInt64) -> Value? {
        guard let i = find(key) else { return nil }
        return s.pointee.values[i]
    }

    /// Insert or replace.
    func set(_ key: UInt64, _ value: Value) {
        if (s.pointee.count + 1) * 2 > s.pointee.capacity { grow() }
        let t = s.pointee
        var i = Self.home(key, t.capacity)
        while t.used[i] {
            if t.keys[i] == key {
                t.values[i] = value
                return
            }
            i = (i + 1) & (t.capacity - 1)
        }
        t.used[i] = true
        t.keys[i] = key
        (t.values + i).initialize(to: value)
        s.pointee.count += 1
    }

    /// Remove `key`, returning its value; the entries after it in its run move back so every
    /// key stays reachable from its home slot.
    @discardableResult
    func remove(_ key: UInt64) -> Value? {
        guard var hole = find(key) else { return nil }
        let t = s.pointee
        let removed = t.values[hole]
        let mask = t.capacity - 1
        var i = (hole + 1) & mask
        while t.used[i] {
            let home = Self.home(t.keys[i], t.capacity)
            // Move the entry at i into the hole unless its home lies cyclically in (hole, i].
            let stays = hole <= i ? (hole < home && home <= i) : (hole < home || home <= i)
            if !stays {
                t.keys[hole] = t.keys[i]
                t.values[hole] = t.values[i]
                hole = i
            }
            i = (i + 1) & mask
        }
        t.used[hole] = false
        s.pointee.count -= 1
        return removed
    }

    func removeAll() {
        guard s.pointee.count > 0 else { return }
        s.pointee.used.update(repeating: false, count: s.pointee.capacity)
        s.pointee.count = 0
    }

    /// Call `body` with every key (the table must not change meanwhile).
    func forEachKey(_ body: (UInt64) -> Void) {
        let t = s.pointee
        guard t.count > 0 else { return }
        // Eight flags at a time (the capacity is a power of two, at least 16): the fuzzer
        // empties a table holding two or three keys on every case.
        var found = 0
        var i = 0
        while i < t.capacity && found < t.count {
            if UnsafeRawPointer(t.used + i).loadUnaligned(as: UInt64.self) != 0 {
                for j in i..<(i + 8) where t.used[j] {
                    body(t.keys[j])
                    found += 1
                }
            }
            i += 8
        }
    }

    private func grow() {
        let old = s.pointee
        s.pointee = Self.storage(capacity: old.capacity * 2)
        for i in 0..<old.capacity where old.used[i] { set(old.keys[i], old.values[i]) }
        Self.release(old)
    }
}
