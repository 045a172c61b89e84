/// One line of a disassembly listing.
public struct ListingEntry: Sendable {
    public var address: UInt64
    public var bytes: [UInt8]
    /// Capstone's text, or nil for bytes that are not an instruction.
    public var text: String?
    /// Whether RingZero executes this instruction (invalid encodings count: they raise #UD).
    public var implemented: Bool
    /// The bytes raise #UD: Capstone rejects them, or the SDM makes the form invalid (a control
    /// register that does not exist, VMXON with a register operand, a LOCK it cannot take).
    public var raisesUD: Bool
}

extension Decoder {
    /// Decode `bytes` linearly from `address`, one entry per instruction; a byte Capstone
    /// rejects gets an entry of its own and decoding resumes after it.
    public func listing(_ bytes: [UInt8], at address: UInt64, mode: CodeMode) -> [ListingEntry] {
        var entries: [ListingEntry] = []
        var offset = 0
        let costs = CostModel.standard
        while offset < bytes.count {
            let slice = Array(bytes[offset..<min(offset + 15, bytes.count)])
            let pc = address &+ UInt64(offset)
            let decoded: (ListingEntry)? = slice.withUnsafeBytes { raw in
                withInstruction(raw, address: pc, mode: mode) { insn in
                    let op = Lowering(insn, mode: mode).lower(costs: costs)
                    return ListingEntry(address: pc, bytes: Array(slice.prefix(Int(op.length))), text: nil,
                                        implemented: op.handler != .unsupported, raisesUD: op.handler == .invalidOpcode)
                }
            }
            if var entry = decoded {
                entry.text = describe(entry.bytes, address: pc, mode: mode)?.text
                entries.append(entry)
                offset += entry.bytes.count
            } else {
                entries.append(ListingEntry(address: pc, bytes: [slice[0]], text: nil, implemented: true, raisesUD: true))
                offset += 1
            }
        }
        return entries
    }
}
