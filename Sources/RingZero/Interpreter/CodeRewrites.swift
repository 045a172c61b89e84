// Code that keeps storing into bytes the Op cache decoded: self-modifying code, or a variable
// in a 64-byte chunk that holds code too (stores elsewhere in a code page leave it cached:
// `PhysicalMemory.codeChunks`). Every such store drops the page's cached blocks, and the next instruction
// decodes a block of up to 64 again to run one or two of them: about 60 times the reference
// path's cost per instruction. A page that guest stores have emptied of code
// `CodeRewrites.threshold` times runs one instruction at a time, decoded afresh as the
// reference path decodes it and not cached (`Machine.stepUncached`), until
// `CodeRewrites.patience` instructions have run that way; then every page is cached again, and
// one that is still rewritten soon goes back. Only speed depends on this: both ways run the
// same semantics with the same counts.

/// What the run loop knows about pages whose code guest stores rewrite.
struct CodeRewrites {
    /// Rewrites of a page after which it runs uncached.
    static let threshold = 8
    /// Instructions run uncached after which every page is cached again.
    static let patience = 100_000

    /// How often guest stores have dropped each page's blocks.
    private var counts: [UInt64: Int] = [:]
    /// The pages that run uncached.
    private(set) var uncachedPages: Set<UInt64> = []
    /// Instructions run uncached since the pages were last all cached.
    private var uncachedSteps = 0

    /// Guest stores dropped the blocks of `pages`.
    mutating func note(_ pages: UnsafeBufferPointer<UInt64>) {
        for page in pages {
            let count = counts[page, default: 0] + 1
            counts[page] = count
            if count >= Self.threshold { uncachedPages.insert(page) }
        }
    }

    /// Whether code at `address` runs uncached.
    @inline(__always) func runsUncached(_ address: UInt64) -> Bool {
        !uncachedPages.isEmpty && uncachedPages.contains(address >> 12)
    }

    /// One instruction ran uncached.
    mutating func stepped() {
        uncachedSteps += 1
        if uncachedSteps >= Self.patience { forget() }
    }

    /// Cache every page again (after `patience` steps, and at a snapshot restore, which
    /// starts the guest's code over).
    mutating func forget() {
        // A restore calls this for every fuzz case: nothing to do, as a rule.
        if counts.isEmpty && uncachedSteps == 0 { return }
        counts.removeAll(keepingCapacity: true)
        uncachedPages.removeAll(keepingCapacity: true)
        uncachedSteps = 0
    }
}
