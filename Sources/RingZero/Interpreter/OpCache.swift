/// Decoded Ops grouped in straight-line blocks, keyed by (guest address, code mode).
///
/// A block ends at control flow, at an instruction that may change how later bytes decode, at a
/// 4 KiB page boundary and at the end of the loaded blob. Ops live in one contiguous raw arena
/// (so the dispatch loop reads them with no bounds check and no reference counting); a block is
/// a range of it. A store into a page that holds Ops drops that page's blocks.
///
/// Lookups go through a small direct-mapped table first: a hit costs a multiply, a shift and two
/// loads. Behind it, `blocks` maps every key to its block and `pageHeads` with the node lists
/// records which blocks came from each page (`KeyTable`, not `Dictionary`: cold code inserts and
/// drops blocks all the time, and SipHash would cost more than the decoding). Every block the
/// maps drop is also cleared from the direct-mapped table.
final class OpCache {
    /// 32 bytes: the loop copies blocks around, and the direct-mapped table holds 4096.
    struct Block {
        private var start32: Int32
        private var count32: Int32
        /// The most the block's Ops can cost together (each at its dearest variant), for the
        /// block-level cycle-limit check.
        var cost: UInt64
        /// What the block's Ops cost as decoded, added up: what the threaded loop counts when
        /// it enters the block.
        var baseCycles: UInt64
        /// How many of its Ops are fast ALU forms and fast Jcc (whatever the rest are): the
        /// threaded loop counts them by form when it enters the block.
        private var fastALU8: UInt8
        private var fastJcc8: UInt8
        /// Whether the threaded loop may run the block: its Ops record what follows each of
        /// them (`Op.restCount`...), which they do unless the costs overflow 32 bits
        /// (`Totals.restsFit`).
        private(set) var threaded: Bool

        init(start: Int, count: Int, totals: Totals) {
            start32 = Int32(start)
            count32 = Int32(count)
            cost = totals.worstCaseCost
            baseCycles = totals.baseCycles
            fastALU8 = UInt8(truncatingIfNeeded: totals.fastALU)
            fastJcc8 = UInt8(truncatingIfNeeded: totals.fastJcc)
            threaded = totals.restsFit
        }

        var start: Int { Int(start32) }
        var count: Int { Int(count32) }
        var fastALU: UInt64 { UInt64(fastALU8) }
        var fastJcc: UInt64 { UInt64(fastJcc8) }
    }

    /// Everything that changes, behind one stable pointer: a class's stored `var`s would carry
    /// a dynamic exclusivity check on every access, which cold code (the fuzzer) pays per block.
    private struct State: ~Copyable {
        /// The arena: `count` Ops in use out of `capacity`. Reallocated (and so moved) only by
        /// `reserve`, which the loop follows by reloading `base`.
        var base: UnsafeMutablePointer<Op>
        var count = 0
        var capacity: Int
        /// Blocks by page: the nodes (block keys) of each page's list in two parallel arrays,
        /// freed nodes chained from `freeNode`; the heads are in `pageHeads`.
        var nodeKeys = RawList<UInt64>()
        var nodeNext = RawList<Int32>()
        var freeNode: Int32 = -1
        var slotsInUse = false
    }

    private let state: UnsafeMutablePointer<State>
    var base: UnsafeMutablePointer<Op> { state.pointee.base }
    var count: Int { state.pointee.count }
    private let blocks = KeyTable<Block>()
    private let pageHeads = KeyTable<Int32>()
    static let maxBlockLength = 64
    static let arenaLimit = 1 << 20
    /// Page numbers of 64-bit addresses have 52 bits.
    private static let pageNumberMask: UInt64 = (1 << 52) - 1
    /// From this many Ops on, an arena with fewer than one live block per 64 Ops is emptied.
    static let garbageCheck = 4096

    /// The direct-mapped table: key + 1 (0 = empty) and the block.
    private static let slots = 4096
    private let slotKeys: UnsafeMutablePointer<UInt64>
    private let slotBlocks: UnsafeMutablePointer<Block>

    init() {
        state = .allocate(capacity: 1)
        state.initialize(to: State(base: .allocate(capacity: 1024), capacity: 1024))
        slotKeys = .allocate(capacity: Self.slots)
        slotKeys.initialize(repeating: 0, count: Self.slots)
        slotBlocks = .allocate(capacity: Self.slots)
        slotBlocks.initialize(repeating: Block(start: 0, count: 0, totals: Totals()), count: Self.slots)
    }

    deinit {
        base.deinitialize(count: count)
        base.deallocate()
        state.deinitialize(count: 1)
        state.deallocate()
        slotKeys.deallocate()
        slotBlocks.deallocate()
    }

    @inline(__always) static func key(_ address: UInt64, _ mode: CodeMode) -> UInt64 {
        (address << 2) | UInt64(mode.rawValue)
    }

    @inline(__always) private static func slot(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 52) & (slots - 1)
    }

    @inline(__always) func block(at address: UInt64, mode: CodeMode) -> Block? {
        let key = Self.key(address, mode)
        let s = Self.slot(key)
        if slotKeys[s] == key &+ 1 { return slotBlocks[s] }
        return slowLookup(key, s)
    }

    private func slowLookup(_ key: UInt64, _ s: Int) -> Block? {
        guard let b = blocks[key] else { return nil }
        slotKeys[s] = key &+ 1
        slotBlocks[s] = b
        state.pointee.slotsInUse = true
        return b
    }

    /// Room for `n` more Ops at the end of the arena, where the next block will go: decoding
    /// writes a block's Ops straight there, then `commit` makes them a block. May move the
    /// arena (or empty the cache when it is full), so no loop may hold `base` across it.
    func reserve(_ n: Int, memory: PhysicalMemory) -> UnsafeMutablePointer<Op> {
        // Empty it when it is full, and when it is mostly Ops of dropped blocks: cold code
        // decoded, run and dropped over and over (fuzzing), with a few blocks elsewhere that
        // stay, would otherwise walk the whole arena, missing the CPU's caches on every store.
        // A live block takes at most `maxBlockLength` + 1 slots, its end marker included.
        if count + n > Self.arenaLimit || (count + n > Self.garbageCheck && blocks.count * (Self.maxBlockLength + 1) < count) {
            removeAll(memory: memory)
        }
        if count + n > state.pointee.capacity {
            var grown = state.pointee.capacity * 2
            while count + n > grown { grown *= 2 }
            let moved = UnsafeMutablePointer<Op>.allocate(capacity: grown)
            moved.moveInitialize(from: base, count: count)
            base.deallocate()
            state.pointee.base = moved
            state.pointee.capacity = grown
        }
        return base + count
    }

    /// The totals the loops use for Ops `start..<start + count` of the arena.
    struct Totals {
        var worstCaseCost: UInt64 = 0
        var baseCycles: UInt64 = 0
        var fastALU = 0
        var fastJcc = 0

        /// Whether what follows each Op fits its fields (`Op.restCycles` has 32 bits): then
        /// `decodeBlock` records it, and the threaded loop may run the block.
        var restsFit: Bool { baseCycles <= UInt64(UInt32.max) }

        @inline(__always) mutating func add(_ op: Op, worstCase: UInt32) {
            worstCaseCost &+= UInt64(worstCase)
            baseCycles &+= UInt64(op.cost)
            // Counted without a branch on the handler (random code mispredicted it).
            let fastALUOp = op.isFastALU
            fastALU &+= fastALUOp ? 1 : 0
            fastJcc &+= op.handler.isFast & !fastALUOp ? 1 : 0
        }
    }

    /// Make the `n` Ops written at `reserve`'s pointer the block at `address`.
    func commit(_ n: Int, at address: UInt64, mode: CodeMode, memory: PhysicalMemory, totals: Totals) -> Block {
        let start = count
        // The block's Ops and the end marker after them (`ThreadedIndex.blockEnd`), which the
        // threaded handlers reach instead of testing for the block's end.
        state.pointee.count += n + 1
        let block = Block(start: start, count: n, totals: totals)
        let key = Self.key(address, mode)
        blocks.set(key, block)
        guard n > 0 else { return block }
        // Every page the bytes span, the last instruction's included; an instruction at the
        // top of the address space wraps around to page 0, which must be registered too (a
        // store there changes it). Bytes the decoder rejected became a one-byte #UD Op, but it
        // judged them with the 15 bytes from there: those count, whatever page they are on.
        // A block's bytes are contiguous: each Op starts where the one before it ends.
        let last = base[start + n - 1]
        let lastByte = last.handler == .invalidOpcode ? last.address &+ 14 : last.nextAddress &- 1
        let firstPage = base[start].address >> 12
        var page = firstPage
        let lastPage = lastByte >> 12
        while true {
            addToPage(page, key)
            if page < UInt64(memory.pageCount) {
                let low = page == firstPage ? base[start].address & 0xFFF : 0
                let high = page == lastPage ? lastByte & 0xFFF : 0xFFF
                memory.markCode(page: Int(page), from: low, through: high)
            }
            if page == lastPage { break }
            page = (page &+ 1) & Self.pageNumberMask
        }
        return block
    }

    private func addToPage(_ page: UInt64, _ key: UInt64) {
        let node: Int32
        if state.pointee.freeNode >= 0 {
            node = state.pointee.freeNode
            state.pointee.freeNode = state.pointee.nodeNext[Int(node)]
            state.pointee.nodeKeys[Int(node)] = key
            state.pointee.nodeNext[Int(node)] = pageHeads[page] ?? -1
        } else {
            node = Int32(state.pointee.nodeKeys.count)
            state.pointee.nodeKeys.append(key)
            state.pointee.nodeNext.append(pageHeads[page] ?? -1)
        }
        pageHeads.set(page, node)
    }

    /// Forget the blocks decoded from pages that were written.
    func invalidate(pages: UnsafeBufferPointer<UInt64>) {
        for page in pages { invalidate(page: page) }
    }

    /// Drop every block decoded from `page`.
    func invalidate(page: UInt64) {
        guard var node = pageHeads.remove(page) else { return }
        while node >= 0 {
            let key = state.pointee.nodeKeys[Int(node)]
            blocks.remove(key)
            let s = Self.slot(key)
            if slotKeys[s] == key &+ 1 { slotKeys[s] = 0 }
            let next = state.pointee.nodeNext[Int(node)]
            state.pointee.nodeNext[Int(node)] = state.pointee.freeNode
            state.pointee.freeNode = node
            node = next
        }
        // With no block left nothing points into the arena: fill it from the start again, so
        // code that is decoded, run and dropped over and over (fuzzing) stays in the same
        // memory instead of walking through all of it.
        if blocks.count == 0 { state.pointee.count = 0 }
    }

    func removeAll(memory: PhysicalMemory) {
        base.deinitialize(count: count)
        state.pointee.count = 0
        if state.pointee.slotsInUse && blocks.count < Self.slots / 8 {
            // Clear the table slot by slot when few blocks can be in it: cheaper than a pass
            // over all of it, which a short fuzz run would pay on every case.
            blocks.forEachKey { key in
                let s = Self.slot(key)
                if slotKeys[s] == key &+ 1 { slotKeys[s] = 0 }
            }
            state.pointee.slotsInUse = false
        }
        blocks.removeAll()
        // Only the pages the cache marked: a pass over every page of a large guest would cost
        // more than the rest of a short run.
        pageHeads.forEachKey { page in
            if page < UInt64(memory.pageCount) { memory.unmarkCodePage(Int(page)) }
        }
        pageHeads.removeAll()
        state.pointee.nodeKeys.removeAll()
        state.pointee.nodeNext.removeAll()
        state.pointee.freeNode = -1
        if state.pointee.slotsInUse {
            slotKeys.update(repeating: 0, count: Self.slots)
            state.pointee.slotsInUse = false
        }
    }
}
