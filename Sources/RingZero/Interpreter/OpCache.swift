/// Decoded Ops grouped in straight-line blocks, keyed by (guest address, code mode).
///
/// A block ends at control flow, at an instruction that may change how later bytes decode, at a
/// 4 KiB page boundary and at the end of the loaded blob. Ops live in one contiguous arena; a
/// block is a range of it. A store into a page that holds Ops drops that page's blocks.
struct OpCache {
    struct Block {
        var start: Int
        var count: Int
        /// The most the block's Ops can cost together (each at its dearest variant), for the
        /// block-level cycle-limit check.
        var cost: UInt64
    }

    private(set) var ops = ContiguousArray<Op>()
    private var blocks: [UInt64: Block] = [:]
    private var blocksOnPage: [UInt64: [UInt64]] = [:]
    static let maxBlockLength = 64
    static let arenaLimit = 1 << 20

    @inline(__always) static func key(_ address: UInt64, _ mode: CodeMode) -> UInt64 {
        (address << 2) | UInt64(mode.rawValue)
    }

    @inline(__always) func block(at address: UInt64, mode: CodeMode) -> Block? {
        blocks[Self.key(address, mode)]
    }

    /// Store a freshly decoded block and mark the pages it came from.
    mutating func insert(_ newOps: [Op], at address: UInt64, mode: CodeMode, memory: PhysicalMemory, worstCaseCost: UInt64) -> Block {
        if ops.count + newOps.count > Self.arenaLimit { removeAll(memory: memory) }
        let block = Block(start: ops.count, count: newOps.count, cost: worstCaseCost)
        ops.append(contentsOf: newOps)
        let key = Self.key(address, mode)
        blocks[key] = block
        guard let first = newOps.first, let last = newOps.last else { return block }
        var page = first.address >> 12
        let lastPage = (last.nextAddress &- 1) >> 12
        while page <= lastPage {
            blocksOnPage[page, default: []].append(key)
            if page < UInt64(memory.pageCount) { memory.markCodePage(Int(page)) }
            page += 1
        }
        return block
    }

    /// Forget the blocks decoded from pages that were written.
    mutating func invalidate(pages: [UInt64]) {
        for page in pages {
            guard let keys = blocksOnPage.removeValue(forKey: page) else { continue }
            for key in keys { blocks.removeValue(forKey: key) }
        }
    }

    mutating func removeAll(memory: PhysicalMemory) {
        ops.removeAll(keepingCapacity: true)
        blocks.removeAll(keepingCapacity: true)
        blocksOnPage.removeAll(keepingCapacity: true)
        memory.clearCodePages()
    }
}
