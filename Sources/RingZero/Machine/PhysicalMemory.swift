#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Flat guest-physical memory.
///
/// Reads outside it return all-ones bytes and writes there are dropped, as on a real bus with
/// nothing decoding the address; both are counted.
///
/// Each 4 KiB page has a flag byte that a store checks once: while it is zero the store costs
/// nothing more. Its bits say whether decoded Ops come from the page (so a store makes the Op
/// cache drop them: self-modifying code), whether the page has been written since the last
/// snapshot baseline (so a restore copies back only those pages), whether the page has ever
/// been written (so a snapshot copies only those; the rest are still zero), and whether only
/// `load` has written it since it was last zero (so a restore clears only those bytes).
public final class PhysicalMemory {
    public let size: UInt64
    /// An access of up to 8 bytes at an address below this lies inside memory: one compare for
    /// the common case (`readInside`, `write`), which leaves the last 7 bytes to the
    /// byte-at-a-time paths.
    let wordLimit: UInt64
    let bytes: UnsafeMutableRawPointer
    let pageCount: Int
    /// One flag byte per page (`PageFlag`).
    let pageFlags: UnsafeMutablePointer<UInt8>
    /// For a page with `PageFlag.code`: which of its 64-byte chunks hold bytes the Op cache
    /// decoded (bit n: bytes 64n to 64n + 63). A store that reaches none of them leaves the
    /// page's blocks as they are: data kept beside code, as boot code keeps its variables.
    /// Zero for every other page; calloc'd, so a large guest costs only the pages with code.
    private let codeChunks: UnsafeMutablePointer<UInt64>
    /// Set when a store touched a page holding code, until the Op cache has dropped its blocks.
    /// Read after every instruction, so it sits behind a pointer (no exclusivity check).
    var codeWritten: Bool {
        get { codeWrittenFlag.pointee }
        set { codeWrittenFlag.pointee = newValue }
    }
    private let codeWrittenFlag: UnsafeMutablePointer<Bool>

    /// The page lists and counters, behind one stable pointer: as a class's stored `var`s they
    /// would carry a dynamic exclusivity check on every access.
    /// The lists are `RawList`s: as arrays each change checked its buffer for sharing.
    private struct Books: ~Copyable {
        var writtenCodePages = RawList<UInt64>()
        var dirtyPages = RawList<UInt64>()
        /// Where `pagesWrittenSinceWatch` starts in `dirtyPages`.
        var watchMark = 0
        var restoredCodePages = RawList<UInt64>()
        /// The bytes `load` wrote into each page flagged `loaded`, as offsets low..<high.
        var loadedExtents = RawList<(page: UInt64, low: Int, high: Int)>(capacity: 8)
        var unbackedReads: UInt64 = 0
        var unbackedWrites: UInt64 = 0
    }
    private let books: UnsafeMutablePointer<Books>

    /// Code pages written since the Op cache last dropped their blocks (valid until memory
    /// is next written or `clearWrittenCodePages`).
    var writtenCodePages: UnsafeBufferPointer<UInt64> { books.pointee.writtenCodePages.elements() }
    func clearWrittenCodePages() { books.pointee.writtenCodePages.removeAll() }
    /// Pages written since the snapshot baseline (a page may appear twice: `watchWrites`).
    var dirtyPages: UnsafeBufferPointer<UInt64> { books.pointee.dirtyPages.elements() }
    public internal(set) var unbackedReads: UInt64 {
        get { books.pointee.unbackedReads }
        set { books.pointee.unbackedReads = newValue }
    }
    public internal(set) var unbackedWrites: UInt64 {
        get { books.pointee.unbackedWrites }
        set { books.pointee.unbackedWrites = newValue }
    }

    public static let pageSize: UInt64 = 4096

    enum PageFlag {
        /// The Op cache holds Ops decoded from the page.
        static let code: UInt8 = 1
        /// Not yet written since the snapshot baseline (set for every page when one is taken).
        static let clean: UInt8 = 2
        /// Never written: still the zero page calloc gave.
        static let untouched: UInt8 = 4
        /// Zero but for what `load` put there since the baseline (`loadedExtents`): a restore
        /// clears those bytes instead of the page. Any store clears the flag with the others.
        static let loaded: UInt8 = 8
    }

    /// Zeroed memory of `size` bytes; nil when the host cannot provide it. calloc hands out
    /// zero pages lazily, so a large guest costs only what it touches.
    public init?(size: UInt64) {
        guard size <= UInt64(Int.max), let raw = calloc(Int(max(size, 1)), 1) else { return nil }
        let pages = Int((size + Self.pageSize - 1) / Self.pageSize)
        guard let chunks = calloc(max(pages, 1), MemoryLayout<UInt64>.stride) else {
            free(raw)
            return nil
        }
        self.size = size
        wordLimit = size >= 8 ? size - 7 : 0
        bytes = raw
        pageCount = pages
        codeWrittenFlag = .allocate(capacity: 1)
        codeWrittenFlag.initialize(to: false)
        books = .allocate(capacity: 1)
        books.initialize(to: Books())
        pageFlags = .allocate(capacity: max(pageCount, 1))
        pageFlags.initialize(repeating: PageFlag.untouched, count: max(pageCount, 1))
        codeChunks = chunks.bindMemory(to: UInt64.self, capacity: max(pages, 1))
    }

    deinit {
        free(bytes)
        free(codeChunks)
        pageFlags.deallocate()
        codeWrittenFlag.deallocate()
        books.deinitialize(count: 1)
        books.deallocate()
    }

    @inline(__always) func isCodePage(_ page: Int) -> Bool { pageFlags[page] & PageFlag.code != 0 }
    /// The Op cache decoded bytes `low` through `high` (offsets in the page, inclusive) of `page`.
    @inline(__always) func markCode(page: Int, from low: UInt64, through high: UInt64) {
        pageFlags[page] |= PageFlag.code
        codeChunks[page] |= Self.chunks(low, high)
    }
    func unmarkCodePage(_ page: Int) {
        pageFlags[page] &= ~PageFlag.code
        codeChunks[page] = 0
    }

    /// The 64-byte chunks that bytes `low` through `high` of a page touch, as bits.
    @inline(__always) static func chunks(_ low: UInt64, _ high: UInt64) -> UInt64 {
        let first = low >> 6, last = high >> 6
        let upTo = last == 63 ? UInt64.max : (1 << (last + 1)) &- 1
        return upTo & ~((1 << first) &- 1)
    }

    /// Copy bytes in from outside the guest (loading a blob or a state file's region).
    /// Returns false when they do not fit.
    public func load(_ data: [UInt8], at address: UInt64) -> Bool {
        data.withUnsafeBytes { load($0, at: address) }
    }

    /// `load` from memory outside the guest.
    func load(_ data: UnsafeRawBufferPointer, at address: UInt64) -> Bool {
        guard address <= size, UInt64(data.count) <= size - address else { return false }
        if let base = data.baseAddress { (bytes + Int(address)).copyMemory(from: base, byteCount: data.count) }
        noteLoad(address, UInt64(data.count))
        return true
    }

    /// `noteWrite` for bytes loaded from outside, which also remembers where they went when
    /// they lie in one page that was zero, so that a restore need clear only them: a fuzzer
    /// loads a short blob into the same page before every case (docs/performance.md, item
    /// 34). A load across pages gains nothing by it (the pages between are whole), and the
    /// list stays short so that looking a page up in it costs little.
    private func noteLoad(_ address: UInt64, _ count: UInt64) {
        guard count > 0 else { return }
        let page = address >> 12, last = (address + count - 1) >> 12
        let flags = page == last ? pageFlags[Int(page)] : 0
        let fresh = flags & (PageFlag.clean | PageFlag.untouched) == PageFlag.clean | PageFlag.untouched
        let extent = books.pointee.loadedExtents.elements().firstIndex { $0.page == page }
        guard page == last, (fresh && books.pointee.loadedExtents.count < 8) || (flags & PageFlag.loaded != 0 && extent != nil) else {
            noteWrite(address, count)
            return
        }
        recordWrite(page, flags, chunks: Self.chunks(address & 0xFFF, (address + count - 1) & 0xFFF), adding: PageFlag.loaded)
        let low = Int(address & 0xFFF), high = Int((address + count - 1) & 0xFFF) + 1
        if let i = extent {
            books.pointee.loadedExtents[i].low = min(books.pointee.loadedExtents[i].low, low)
            books.pointee.loadedExtents[i].high = max(books.pointee.loadedExtents[i].high, high)
        } else {
            books.pointee.loadedExtents.append((page, low, high))
        }
    }

    /// Forget the dirty pages (a restore has rewritten them).
    func clearDirtyPages() {
        books.pointee.dirtyPages.removeAll()
        books.pointee.watchMark = 0
    }

    /// Start recording the pages written from now on in `pagesWrittenSinceWatch`: the pages
    /// already dirty are marked clean again (they stay in the dirty list, so a restore still
    /// rewrites them), so a store to one lists it a second time.
    func watchWrites() {
        // Nothing written since the last call: its pages are clean already (a page written
        // since would be listed again past the mark). The fuzzer calls this twice per run.
        if books.pointee.watchMark == books.pointee.dirtyPages.count { return }
        for page in books.pointee.dirtyPages.elements() { pageFlags[Int(page)] |= PageFlag.clean }
        books.pointee.watchMark = books.pointee.dirtyPages.count
    }

    /// Whether a store to each of `pages` would be listed in `pagesWrittenSinceWatch`: they
    /// are clean (a snapshot baseline is armed).
    func areClean(pages: ClosedRange<UInt64>) -> Bool {
        pages.allSatisfy { pageFlags[Int($0)] & PageFlag.clean != 0 }
    }

    /// The pages written since `watchWrites()`, or since the snapshot baseline when it has not
    /// been called since (a page may appear twice).
    var pagesWrittenSinceWatch: UnsafeBufferPointer<UInt64> { books.pointee.dirtyPages.elements(from: books.pointee.watchMark) }

    /// Whether `pages` hold the same bytes here and in `other` (a memory of the same size).
    func samePages<Pages: Sequence<UInt64>>(as other: PhysicalMemory, _ pages: Pages) -> Bool {
        for page in pages {
            let offset = Int(page) * Int(Self.pageSize)
            let count = min(Int(Self.pageSize), Int(size) - offset)
            if count > 0 && memcmp(bytes + offset, other.bytes + offset, count) != 0 { return false }
        }
        return true
    }

    /// Bytes as the guest would read them (all-ones outside memory), without counting.
    public func peek(_ address: UInt64, count: Int) -> [UInt8] {
        (0..<UInt64(count)).map { i in
            let a = address &+ i
            return a < size ? bytes.load(fromByteOffset: Int(a), as: UInt8.self) : 0xFF
        }
    }

    /// The 15 bytes at `address` as `peek` gives them (all-ones outside memory), handed to
    /// `body` without an array: in place when they lie inside memory, else from a copy on the
    /// stack. For Capstone, which reads at most 15 (an array per instruction decoded was an
    /// allocation and a byte-at-a-time copy).
    @inline(__always)
    func withInstructionBytes<R>(at address: UInt64, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        if size >= 15 && address <= size - 15 {
            return body(UnsafeRawBufferPointer(start: bytes + Int(address), count: 15))
        }
        var copy: (UInt64, UInt64) = (.max, .max)
        return withUnsafeMutableBytes(of: &copy) { raw in
            for i in 0..<15 {
                let a = address &+ UInt64(i)
                if a < size { raw[i] = bytes.load(fromByteOffset: Int(a), as: UInt8.self) }
            }
            return body(UnsafeRawBufferPointer(rebasing: raw[0..<15]))
        }
    }

    @inline(__always)
    func read(_ address: UInt64, _ width: UInt8) -> UInt64 {
        readInside(address, width) ?? readSlow(address, width)
    }

    /// `read` of bytes that lie below `wordLimit`; nil for any other (past the end, or in the
    /// last 7 bytes), which `read` reads a byte at a time. With no call, a caller's common case
    /// can stay free of one.
    @inline(__always)
    func readInside(_ address: UInt64, _ width: UInt8) -> UInt64? {
        guard address < wordLimit else { return nil }
        let p = bytes + Int(truncatingIfNeeded: address)
        switch width {
        case 1: return UInt64(p.load(as: UInt8.self))
        case 2: return UInt64(UInt16(littleEndian: p.loadUnaligned(as: UInt16.self)))
        case 4: return UInt64(UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)))
        default: return UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))
        }
    }

    private func readSlow(_ address: UInt64, _ width: UInt8) -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<UInt64(width) {
            let a = address &+ i
            let byte: UInt64
            if a < size {
                byte = UInt64(bytes.load(fromByteOffset: Int(a), as: UInt8.self))
            } else {
                byte = 0xFF
                unbackedReads &+= 1
            }
            value |= byte << (8 * i)
        }
        return value
    }

    @inline(__always)
    func write(_ address: UInt64, _ width: UInt8, _ value: UInt64) {
        let w = UInt64(width)
        if address < wordLimit {
            let p = bytes + Int(truncatingIfNeeded: address)
            switch width {
            case 1: p.storeBytes(of: UInt8(truncatingIfNeeded: value), as: UInt8.self)
            case 2: p.storeBytes(of: UInt16(truncatingIfNeeded: value).littleEndian, as: UInt16.self)
            case 4: p.storeBytes(of: UInt32(truncatingIfNeeded: value).littleEndian, as: UInt32.self)
            default: p.storeBytes(of: value.littleEndian, as: UInt64.self)
            }
            let first = address >> 12, last = (address &+ w &- 1) >> 12
            if pageFlags[Int(truncatingIfNeeded: first)] | pageFlags[Int(truncatingIfNeeded: last)] != 0 { noteWrite(address, w) }
            return
        }
        writeSlow(address, width, value)
    }

    private func writeSlow(_ address: UInt64, _ width: UInt8, _ value: UInt64) {
        for i in 0..<UInt64(width) {
            let a = address &+ i
            if a < size {
                bytes.storeBytes(of: UInt8(truncatingIfNeeded: value >> (8 * i)), toByteOffset: Int(a), as: UInt8.self)
                noteWrite(a, 1)
            } else {
                unbackedWrites &+= 1
            }
        }
    }

    /// A store reached pages with flags set: drop their Ops if they hold code, record them as
    /// dirty since the baseline, and as touched.
    private func noteWrite(_ address: UInt64, _ count: UInt64) {
        guard count > 0 else { return }
        let end = address + count - 1
        var page = address >> 12
        let last = end >> 12
        while page <= last && page < UInt64(pageCount) {
            let flags = pageFlags[Int(page)]
            if flags != 0 {
                let low = page == address >> 12 ? address & 0xFFF : 0
                let high = page == last ? end & 0xFFF : 0xFFF
                recordWrite(page, flags, chunks: Self.chunks(low, high))
            }
            page += 1
        }
    }

    /// A write reached `chunks` of `page`, whose flags were `flags`: queue the page for the Op
    /// cache if the write reached bytes it decoded, list it as dirty if it was clean; it keeps
    /// only its `code` flag, and that only when its decoded bytes are untouched, and gets
    /// `adding`.
    @inline(__always) private func recordWrite(_ page: UInt64, _ flags: UInt8, chunks: UInt64, adding: UInt8 = 0) {
        var after = adding
        if flags & PageFlag.code != 0 {
            if codeChunks[Int(page)] & chunks != 0 {
                books.pointee.writtenCodePages.append(page)
                codeWritten = true
                codeChunks[Int(page)] = 0
            } else {
                after |= PageFlag.code
            }
        }
        if flags & PageFlag.clean != 0 { books.pointee.dirtyPages.append(page) }
        pageFlags[Int(page)] = after
    }

    // MARK: Snapshots

    /// The contents of every page written so far, for a snapshot; pages never written are zero.
    func capture() -> MemoryImage {
        var pages: [UInt64] = []
        for i in 0..<pageCount where pageFlags[i] & PageFlag.untouched == 0 { pages.append(UInt64(i)) }
        let image = MemoryImage(size: size, pages: pages)
        for (slot, page) in pages.enumerated() {
            image.storage.advanced(by: slot * Int(Self.pageSize)).copyMemory(from: bytes + Int(page * Self.pageSize), byteCount: pageBytes(page))
        }
        rearm()
        return image
    }

    /// Make the present contents the baseline: every page clean, the dirty list empty.
    func rearm() {
        for i in 0..<pageCount { pageFlags[i] = (pageFlags[i] | PageFlag.clean) & ~PageFlag.loaded }
        books.pointee.loadedExtents.removeAll()
        clearDirtyPages()
    }

    /// Put the pages written since the baseline back as the image has them (`restore`).
    func restoreDirtyPages(from image: MemoryImage) -> UnsafeBufferPointer<UInt64> {
        restore(books.pointee.dirtyPages.elements(), from: image)
    }

    /// Put `pages` back as the image has them (zero where the image has no copy). Returns the
    /// pages that held code, whose Ops are now stale (valid until the next restore).
    func restore(_ pages: UnsafeBufferPointer<UInt64>, from image: MemoryImage) -> UnsafeBufferPointer<UInt64> {
        books.pointee.restoredCodePages.removeAll()
        for page in pages {
            let target = bytes + Int(page * Self.pageSize)
            if let slot = image.slot(of: page) {
                target.copyMemory(from: image.storage.advanced(by: slot * Int(Self.pageSize)), byteCount: pageBytes(page))
                pageFlags[Int(page)] &= ~PageFlag.untouched
            } else if pageFlags[Int(page)] & PageFlag.loaded != 0,
                      let extent = books.pointee.loadedExtents.elements().first(where: { $0.page == page }) {
                memset(target + extent.low, 0, extent.high - extent.low)
                pageFlags[Int(page)] |= PageFlag.untouched
            } else {
                memset(target, 0, pageBytes(page))
                pageFlags[Int(page)] |= PageFlag.untouched
            }
            pageFlags[Int(page)] &= ~PageFlag.loaded
            if pageFlags[Int(page)] & PageFlag.code != 0 {
                books.pointee.restoredCodePages.append(page)
                unmarkCodePage(Int(page))
            }
            pageFlags[Int(page)] |= PageFlag.clean
        }
        books.pointee.loadedExtents.removeAll()
        return books.pointee.restoredCodePages.elements()
    }

    /// Every page that is or was written: what a restore must rewrite when it cannot rely on
    /// the dirty list.
    func touchedPages(or image: MemoryImage) -> [UInt64] {
        (0..<pageCount).compactMap { i in
            pageFlags[i] & PageFlag.untouched == 0 || image.slot(of: UInt64(i)) != nil ? UInt64(i) : nil
        }
    }

    /// Bytes of a page inside guest memory (the last page may be short).
    private func pageBytes(_ page: UInt64) -> Int {
        Int(min(Self.pageSize, size - page * Self.pageSize))
    }
}

/// The pages of guest memory a snapshot holds: a copy of every page written before it was
/// taken. Immutable once made, so snapshots share it freely.
final class MemoryImage: @unchecked Sendable {
    let size: UInt64
    /// The page numbers held, ascending; `storage` holds them in the same order.
    let pages: [UInt64]
    let storage: UnsafeMutableRawPointer

    init(size: UInt64, pages: [UInt64]) {
        self.size = size
        self.pages = pages
        storage = .allocate(byteCount: max(pages.count, 1) * Int(PhysicalMemory.pageSize), alignment: 16)
    }

    deinit { storage.deallocate() }

    /// Where a page sits in `storage`, if the image holds it (binary search).
    func slot(of page: UInt64) -> Int? {
        var low = 0, high = pages.count
        while low < high {
            let mid = (low + high) / 2
            if pages[mid] < page { low = mid + 1 } else { high = mid }
        }
        return low < pages.count && pages[low] == page ? low : nil
    }
}
