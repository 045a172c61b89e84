/// A growable list of plain values in memory it owns alone, for the lists the machine keeps
/// from run to run (dirty pages, the Op cache's page lists, the exceptions a run took).
///
/// An `Array` held in a class or behind a pointer checks that its buffer is not shared before
/// every change, a call into the runtime, and empties itself through `replaceSubrange`; the
/// fuzzer paid about forty such calls per case (docs/performance.md, item 58). This list cannot
/// be copied (`~Copyable`), so its buffer is never shared and no change needs the check;
/// emptying it sets the count to zero.
struct RawList<Element: BitwiseCopyable>: ~Copyable {
    private(set) var base: UnsafeMutablePointer<Element>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int = 16) {
        self.capacity = max(capacity, 1)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    var isEmpty: Bool { count == 0 }

    subscript(_ i: Int) -> Element {
        @inline(__always) get {
            precondition(i >= 0 && i < count, "RawList index out of range")
            return base[i]
        }
        @inline(__always) set {
            precondition(i >= 0 && i < count, "RawList index out of range")
            base[i] = newValue
        }
    }

    @inline(__always) mutating func append(_ element: Element) {
        if count == capacity { grow() }
        base[count] = element
        count += 1
    }

    @inline(never) private mutating func grow() {
        let larger = UnsafeMutablePointer<Element>.allocate(capacity: capacity * 2)
        larger.update(from: base, count: count)
        base.deallocate()
        base = larger
        capacity *= 2
    }

    /// Empty the list, keeping its memory.
    @inline(__always) mutating func removeAll() { count = 0 }

    @inline(__always) mutating func removeLast() -> Element {
        precondition(count > 0, "removeLast on an empty RawList")
        count -= 1
        return base[count]
    }

    /// The elements from `start` on, valid until the list next changes.
    @inline(__always) func elements(from start: Int = 0) -> UnsafeBufferPointer<Element> {
        let from = min(max(start, 0), count)
        return UnsafeBufferPointer(start: base + from, count: count - from)
    }

    /// The elements as an array of their own.
    var array: [Element] { Array(elements()) }
}
