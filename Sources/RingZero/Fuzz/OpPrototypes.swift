/// The generator's instructions as the Ops the decoder would give for their bytes, built
/// without decoding them (docs/performance.md, item 54): the "build Ops directly".
///
/// Apart from immediate operands the menu has a few hundred encodings (`Template`), so each is
/// decoded once per code mode with `DirectDecoder`, both as `decodeBlock` decodes it (fast
/// forms) and as the reference path does (generic handlers), priced, and kept as a prototype;
/// another instruction of the template is that Op with its address and immediate set. A
/// prototype is kept only when that rule is shown to hold for it: its bytes decoded at another
/// address, and with the immediate's bits inverted, give the same Op but for those fields. So a
/// relative branch (whose Op holds its target) or an immediate the decoder sign-extends would be
/// decoded every time.
///
/// The fast path's runs take these Ops (`Machine.setPredecoded`) instead of decoding; on every
/// `FuzzEngine.referenceDecodeInterval`-th case the reference run decodes every instruction
/// afresh instead, and the full checks decode with Capstone alone.
final class OpPrototypes {
    /// The two forms of a template's Op.
    private struct Prototype {
        var fast: Op
        var generic: Op
    }

    /// By code mode and `Template`: the prototype, and whether there is one yet.
    private let prototypes: UnsafeMutablePointer<Prototype>
    private let ready: UnsafeMutablePointer<Bool>
    /// Where `build` writes, both forms: `slots` places of `capacity` Ops each, so that a
    /// batch of cases can be built before any of them runs.
    private let fastOps: UnsafeMutablePointer<Op>
    private let genericOps: UnsafeMutablePointer<Op>
    let capacity: Int, slots: Int
    let costs: CostModel

    /// `capacity`: the most instructions a case has.
    init(costs: CostModel, capacity: Int = 64, slots: Int = 1) {
        self.costs = costs
        let templates = CodeMode.allCases.count * Template.count
        let empty = Op(handler: .nop, address: 0, length: 0, codeMode: .bits64)
        prototypes = .allocate(capacity: templates)
        prototypes.initialize(repeating: Prototype(fast: empty, generic: empty), count: templates)
        ready = .allocate(capacity: templates)
        ready.initialize(repeating: false, count: templates)
        self.capacity = max(capacity, 1)
        self.slots = max(slots, 1)
        fastOps = .allocate(capacity: self.capacity * self.slots)
        genericOps = .allocate(capacity: self.capacity * self.slots)
    }

    deinit {
        prototypes.deallocate()
        ready.deallocate()
        fastOps.deallocate()
        genericOps.deallocate()
    }

    /// The Ops built by `build`: the fast forms (`decodeBlock`'s) and the generic ones (the
    /// reference path's), one per instruction, ascending by address.
    struct Built {
        var fast: UnsafeBufferPointer<Op>
        var generic: UnsafeBufferPointer<Op>
        /// The code mode they were built for.
        var mode: CodeMode
    }

    /// The Ops of each instruction of `buffer` as loaded at `base`, written to place `slot`
    /// and valid until the next call for it; nil when one is not a form `DirectDecoder`
    /// decodes, or there are more than `capacity` (the case is then decoded as usual).
    /// (By pointer: passed as a value, the buffer was copied, its arrays retained and released.)
    func build(_ pointer: UnsafePointer<CaseBuffer>, at base: UInt64, slot place: Int = 0) -> Built? {
        let n = pointer.pointee.instructionCount
        guard n > 0, n <= capacity, place < slots else { return nil }
        let fastOps = self.fastOps + place * capacity, genericOps = self.genericOps + place * capacity
        let mode = pointer.pointee.codeMode, count = pointer.pointee.count
        let table = Template.count * Int(mode.rawValue)
        let code = UnsafeBufferPointer(pointer.pointee.storage), ends = UnsafeBufferPointer(pointer.pointee.ends)
        var from = 0
        for i in 0..<n {
            let end = Int(ends[i].offset), immediateBytes = Int(ends[i].immediateBytes)
            let template = Int(ends[i].template), slot = table + template
            let address = base &+ UInt64(from)
            if template != Template.none && ready[slot] {
                fastOps[i] = prototypes[slot].fast
                genericOps[i] = prototypes[slot].generic
                fastOps[i].address = address
                genericOps[i].address = address
                if immediateBytes > 0 {
                    // One 8-byte load, cut to the immediate's width (the buffer has
                    // `ByteSink.slack` bytes past the code): a copy of a variable
                    // length was a call to memcpy, whose size dispatch mispredicted.
                    let word = UnsafeRawPointer(code.baseAddress! + end - immediateBytes).loadUnaligned(as: UInt64.self)
                    let imm = Int64(bitPattern: UInt64(littleEndian: word) & (UInt64.max >> UInt64(64 - 8 * immediateBytes)))
                    fastOps[i].imm = imm
                    genericOps[i].imm = imm
                }
            } else {
                let p = code.baseAddress! + from, available = min(15, code.count - from), length = end - from
                guard decode(p, available: available, length: length, address: address, mode: mode,
                             fastForms: true, into: &fastOps[i]),
                      decode(p, available: available, length: length, address: address, mode: mode,
                             fastForms: false, into: &genericOps[i])
                else { return nil }
                // Threaded as `decodeBlock` would thread it alone (a pair or a loop's
                // close it adjusts itself), so that it need not.
                fastOps[i].thread(ThreadedIndex.of(fastOps[i]), Machine.threadedHandlers)
                if template != Template.none,
                   holdsAsPrototype(fastOps[i], p, length: length, immediateBytes: immediateBytes, fastForms: true),
                   holdsAsPrototype(genericOps[i], p, length: length, immediateBytes: immediateBytes, fastForms: false) {
                    prototypes[slot] = Prototype(fast: fastOps[i], generic: genericOps[i])
                    ready[slot] = true
                }
            }
            from = end
        }
        guard from == count else { return nil }
        return Built(fast: UnsafeBufferPointer(start: fastOps, count: n), generic: UnsafeBufferPointer(start: genericOps, count: n),
                     mode: mode)
    }

    /// `DirectDecoder` on the `length`-byte instruction at `p`, as the machine runs it; false
    /// unless it decodes exactly those bytes.
    private func decode(_ p: UnsafePointer<UInt8>, available: Int, length: Int, address: UInt64, mode: CodeMode,
                        fastForms: Bool, into op: inout Op) -> Bool {
        DirectDecoder.decode(p, available: available, address: address, mode: mode, costs: costs, fastForms: fastForms, into: &op)
            && Int(op.length) == length
    }

    /// Whether `op`, decoded from the `length` bytes at `p`, may stand for every instruction
    /// with the same bytes before the immediate: the same bytes at another address, and with
    /// the immediate's bits inverted, decode to `op` with only the address and immediate changed,
    /// and the immediate is the bytes' value as the decoder takes it.
    private func holdsAsPrototype(_ op: Op, _ p: UnsafePointer<UInt8>, length: Int, immediateBytes: Int, fastForms: Bool) -> Bool {
        let fixed = length - immediateBytes
        if immediateBytes > 0 && op.imm != Int64(bitPattern: Self.littleEndian(p + fixed, immediateBytes)) { return false }
        var bytes = Array(UnsafeBufferPointer(start: p, count: length))
        for k in fixed..<length { bytes[k] = ~bytes[k] }
        let moved = op.address &+ 0x10_0010
        var other = op
        let decoded = bytes.withUnsafeBufferPointer { b in
            decode(b.baseAddress!, available: length, length: length, address: moved, mode: op.codeMode, fastForms: fastForms, into: &other)
        }
        guard decoded else { return false }
        var expected = op
        expected.address = moved
        if immediateBytes > 0 {
            expected.imm = Int64(bitPattern: bytes.withUnsafeBufferPointer { Self.littleEndian($0.baseAddress! + fixed, immediateBytes) })
        }
        return other == expected
    }

    /// The `n`-byte little-endian value at `p` (1 to 8 bytes).
    @inline(__always)
    private static func littleEndian(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        var v: UInt64 = 0
        withUnsafeMutableBytes(of: &v) { $0.baseAddress!.copyMemory(from: p, byteCount: n) }
        return UInt64(littleEndian: v)
    }
}
