/// An exception a run took, as the machine keeps it: plain values, so that recording one and
/// emptying the list between runs retain and release nothing (`FaultRecord` holds a string).
struct TakenFault: BitwiseCopyable {
    /// `ExceptionVector`'s raw value (a public enum is not `BitwiseCopyable` by itself).
    var vectorNumber: UInt8
    var hasErrorCode: Bool
    var errorCode: UInt32
    var rip: UInt64
    /// Where its instruction's text is in `FaultList.texts`; -1 for none.
    var text: Int32
}

/// The exceptions the machine's last run took (`RunOutcome.faults` is made from it). Its memory
/// is reused from run to run; texts are kept only when the machine describes its faults.
struct FaultList: ~Copyable {
    private(set) var taken = RawList<TakenFault>(capacity: 8)
    private(set) var texts: [String] = []

    var count: Int { taken.count }
    var isEmpty: Bool { taken.isEmpty }

    @inline(__always) mutating func removeAll() {
        taken.removeAll()
        if !texts.isEmpty { texts.removeAll(keepingCapacity: true) }
    }

    @inline(__always) mutating func append(_ record: FaultRecord) {
        taken.append(entry(for: record))
    }

    /// An exception without its instruction's text.
    @inline(__always) mutating func append(vectorNumber: UInt8, errorCode: UInt32?, rip: UInt64) {
        taken.append(Self.entry(vectorNumber: vectorNumber, errorCode: errorCode, rip: rip, text: -1))
    }

    /// `record` as kept, its text (if any) added to `texts`.
    private mutating func entry(for record: FaultRecord) -> TakenFault {
        var text: Int32 = -1
        if let instruction = record.instruction {
            text = Int32(texts.count)
            texts.append(instruction)
        }
        return Self.entry(vectorNumber: record.vector.rawValue, errorCode: record.errorCode, rip: record.rip, text: text)
    }

    @inline(__always)
    private static func entry(vectorNumber: UInt8, errorCode: UInt32?, rip: UInt64, text: Int32) -> TakenFault {
        TakenFault(vectorNumber: vectorNumber, hasErrorCode: errorCode != nil, errorCode: errorCode ?? 0, rip: rip, text: text)
    }

    func record(_ i: Int) -> FaultRecord {
        let t = taken[i]
        return FaultRecord(vector: ExceptionVector(rawValue: t.vectorNumber)!, errorCode: t.hasErrorCode ? t.errorCode : nil, rip: t.rip,
                           instruction: t.text >= 0 ? texts[Int(t.text)] : nil)
    }

    var records: [FaultRecord] {
        var all: [FaultRecord] = []
        all.reserveCapacity(count)
        for i in 0..<count { all.append(record(i)) }
        return all
    }

    /// Replace the `i`th record (tests).
    mutating func replace(at i: Int, with record: FaultRecord) {
        taken[i] = entry(for: record)
    }

    /// Remove and return the last record (tests).
    mutating func removeLast() -> FaultRecord {
        let last = record(count - 1)
        _ = taken.removeLast()
        return last
    }

    /// Whether both lists hold the same exceptions, texts included.
    func same(as other: borrowing FaultList) -> Bool {
        guard count == other.count else { return false }
        let a = taken.elements(), b = other.taken.elements()
        for i in 0..<a.count {
            let p = a[i], q = b[i]
            // Field by field, without short circuits: the common case is all equal.
            let errorCodes = (p.hasErrorCode == q.hasErrorCode) & (!p.hasErrorCode | (p.errorCode == q.errorCode))
            guard (p.vectorNumber == q.vectorNumber) & (p.rip == q.rip) & errorCodes & ((p.text < 0) == (q.text < 0)) else { return false }
            if p.text >= 0 && texts[Int(p.text)] != other.texts[Int(q.text)] { return false }
        }
        return true
    }
}
