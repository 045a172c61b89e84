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
    struct Block {
        var start: Int
        var count: Int
        /// The most the block's Ops can cost together (each at its dearest variant), for the
        /// block-level cycle-limit check.
        var cost: UInt64
    }

    /// The arena: `count` Ops in use out of `capacity`. Reallocated (and so moved) only by
    /// `insert`, which the loop follows by reloading `base`.
    private(set) var base: UnsafeMutablePointer<Op>
    private(set) var count = 0
    private var capacity: Int
    private let blocks = KeyTable<Block>()
    /// Blocks by page: the head of a list of nodes (block keys) per page number, the nodes in
    /// two parallel arrays, freed nodes chained from `freeNode`.
    private let pageHeads = KeyTable<Int32>()
    private var nodeKeys: [UInt64] = []
    private var nodeNext: [Int32] = []
    private var freeNode: Int32 = -1
    static let maxBlockLength = 64
    static let arenaLimit = 1 << 20

    /// The direct-mapped table: key + 1 (0 = empty) and the block.
    private static let slots = 4096
    private let slotKeys: UnsafeMutablePointer<UInt64>
    private let slotBlocks: UnsafeMutablePointer<Block>
    private var slotsInUse = false

    init() {
        capacity = 1024
        base = .allocate(capacity: capacity)
        slotKeys = .allocate(capacity: Self.slots)
        slotKeys.initialize(repeating: 0, count: Self.slots)
        slotBlocks = .allocate(capacity: Self.slots)
        slotBlocks.initialize(repeating: Block(start: 0, count: 0, cost: 0), count: Self.slots)
    }

    deinit {
        base.deinitialize(count: count)
        base.deallocate()
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
        slotsInUse = true
        return b
    }

    /// Store a freshly decoded block and mark the pages it came from.
    func insert(_ newOps: [Op], at address: UInt64, mode: CodeMode, memory: PhysicalMemory, worstCaseCost: UInt64) -> Block {
        if count + newOps.count > Self.arenaLimit { removeAll(memory: memory) }
        if count + newOps.count > capacity {
            var grown = capacity * 2
            while count + newOps.count > grown { grown *= 2 }
            let moved = UnsafeMutablePointer<Op>.allocate(capacity: grown)
            moved.moveInitialize(from: base, count: count)
            base.deallocate()
            base = moved
            capacity = grown
        }
        let block = Block(start: count, count: newOps.count, cost: worstCaseCost)
        newOps.withUnsafeBufferPointer { (base + count).initialize(from: $0.baseAddress!, count: newOps.count) }
        count += newOps.count
        let key = Self.key(address, mode)
        blocks.set(key, block)
        guard let first = newOps.first, let last = newOps.last else { return block }
        var page = first.address >> 12
        let lastPage = (last.nextAddress &- 1) >> 12
        while page <= lastPage {
            addToPage(page, key)
            if page < UInt64(memory.pageCount) { memory.markCodePage(Int(page)) }
            page += 1
        }
        return block
    }

    private func addToPage(_ page: UInt64, _ key: UInt64) {
        let node: Int32
        if freeNode >= 0 {
            node = freeNode
            freeNode = nodeNext[Int(node)]
            nodeKeys[Int(node)] = key
            nodeNext[Int(node)] = pageHeads[page] ?? -1
        } else {
            node = Int32(nodeKeys.count)
            nodeKeys.append(key)
            nodeNext.append(pageHeads[page] ?? -1)
        }
        pageHeads.set(page, node)
    }

    /// The reference path's one-instruction block: the Op alone at the start of the arena,
    /// kept nowhere else (no lookup table, no page marks), since the reference path decodes
    /// every instruction afresh anyway.
    func insertTransient(_ op: Op, memory: PhysicalMemory, worstCaseCost: UInt64) -> Block {
        if !blocks.isEmpty || count > 1 { removeAll(memory: memory) }
        base.initialize(to: op)
        count = 1
        return Block(start: 0, count: 1, cost: worstCaseCost)
    }

    /// Forget the blocks decoded from pages that were written.
    func invalidate(pages: [UInt64]) {
        for page in pages {
            guard var node = pageHeads.remove(page) else { continue }
            while node >= 0 {
                let key = nodeKeys[Int(node)]
                blocks.remove(key)
                let s = Self.slot(key)
                if slotKeys[s] == key &+ 1 { slotKeys[s] = 0 }
                let next = nodeNext[Int(node)]
                nodeNext[Int(node)] = freeNode
                freeNode = node
                node = next
            }
        }
    }

    func removeAll(memory: PhysicalMemory) {
        base.deinitialize(count: count)
        count = 0
        if slotsInUse && blocks.count < Self.slots / 8 {
            // Clear the table slot by slot when few blocks can be in it: cheaper than a pass
            // over all of it, which a short fuzz run would pay on every case.
            blocks.forEachKey { key in
                let s = Self.slot(key)
                if slotKeys[s] == key &+ 1 { slotKeys[s] = 0 }
            }
            slotsInUse = false
        }
        blocks.removeAll()
        // Only the pages the cache marked: a pass over every page of a large guest would cost
        // more than the rest of a short run.
        pageHeads.forEachKey { page in
            if page < UInt64(memory.pageCount) { memory.unmarkCodePage(Int(page)) }
        }
        pageHeads.removeAll()
        nodeKeys.removeAll(keepingCapacity: true)
        nodeNext.removeAll(keepingCapacity: true)
        freeNode = -1
        if slotsInUse {
            slotKeys.update(repeating: 0, count: Self.slots)
            slotsInUse = false
        }
    }
}
