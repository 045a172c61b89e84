/// Ops a caller built for code it loaded (the fuzzer's `OpPrototypes`), which
/// `Machine.decodeBlock` takes instead of decoding the bytes: for an instruction at one of their
/// addresses, in their code mode, while no store has reached the pages they came from.
///
/// The pointer is borrowed: a caller sets it for a run (`Machine.setPredecoded`) and clears it
/// after (`clearPredecoded`).
struct PredecodedCode {
    /// The Ops, ascending by address; none when `count` is zero.
    var ops: UnsafePointer<Op>?
    var count = 0
    var mode = CodeMode.bits64
    /// The pages their bytes lie in.
    var firstPage: UInt64 = 0
    var lastPage: UInt64 = 0
    /// Where the reference path looks first: the Op after the one it took last.
    var next = 0

    /// Whether the Ops may stand for code in `mode`: there are some, built for that mode, and no
    /// store has reached their pages.
    @inline(__always)
    func usable(in mode: CodeMode, _ memory: PhysicalMemory) -> Bool {
        count > 0 && mode == self.mode && intact(memory)
    }

    /// The index of the Op at `address`, if there is one: `next` first, where the code that
    /// ran last leaves off (a block's end, the instruction after an exception).
    @inline(__always)
    func index(of address: UInt64) -> Int? {
        guard let ops else { return nil }
        if next < count && ops[next].address == address { return next }
        var low = 0, high = count
        while low < high {
            let mid = (low + high) / 2
            if ops[mid].address < address { low = mid + 1 } else { high = mid }
        }
        return low < count && ops[low].address == address ? low : nil
    }

    /// The reference path's next instruction: the Op at `address`, when there is one for
    /// `mode` and its bytes are intact; nil otherwise (decode it). Run in place, not copied.
    @inline(__always)
    mutating func take(at address: UInt64, mode: CodeMode, _ memory: PhysicalMemory) -> UnsafePointer<Op>? {
        guard usable(in: mode, memory), let ops else { return nil }
        guard let i = index(of: address) else { return nil }
        next = i + 1
        return ops + i
    }

    /// Whether no store has reached the Ops' pages since they were set (`Machine.setPredecoded`
    /// starts `memory`'s watch of written pages).
    @inline(__always)
    func intact(_ memory: PhysicalMemory) -> Bool {
        for page in memory.pagesWrittenSinceWatch where page >= firstPage && page <= lastPage { return false }
        return true
    }
}
