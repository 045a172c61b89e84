/// Resolves an instruction's cycle cost from the profile's table when it is decoded, so the
/// dispatch loop only adds a number stored in the Op.
public struct CostModel: Sendable {
    public let table: [String: UInt32]
    private let fallback: UInt32
    /// The cost of delivering an exception, charged instead of the faulting instruction's.
    public let exceptionDelivery: UInt32

    public init(table: [String: UInt32]) {
        self.table = table
        fallback = table["default"] ?? 1
        exceptionDelivery = table["exception"] ?? fallback
    }

    /// Cost of an instruction form; the handler name is the key until the cycle model
    /// distinguishes finer forms.
    func cost(of handler: Handler) -> UInt32 {
        table.isEmpty ? 1 : (table["\(handler)"] ?? fallback)
    }
}
