#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Flat guest-physical memory.
///
/// Reads outside it return all-ones bytes and writes there are dropped, as on a real bus with
/// nothing decoding the address; both are counted. Each 4 KiB page has a flag that says whether
/// decoded Ops come from it, so a store can tell the Op cache to drop them (self-modifying code).
public final class PhysicalMemory: @unchecked Sendable {
    public let size: UInt64
    let bytes: UnsafeMutableRawPointer
    /// One byte per page: non-zero while the Op cache holds Ops decoded from that page.
    var codePages: [UInt8]
    /// Set when a store touched a page holding code, until the Op cache has dropped its blocks.
    var codeWritten = false
    var writtenCodePages: [UInt64] = []
    public internal(set) var unbackedReads: UInt64 = 0
    public internal(set) var unbackedWrites: UInt64 = 0

    public static let pageSize: UInt64 = 4096

    /// Zeroed memory of `size` bytes; nil when the host cannot provide it. calloc hands out
    /// zero pages lazily, so a large guest costs only what it touches.
    public init?(size: UInt64) {
        guard size <= UInt64(Int.max), let raw = calloc(Int(max(size, 1)), 1) else { return nil }
        self.size = size
        bytes = raw
        codePages = Array(repeating: 0, count: Int((size + Self.pageSize - 1) / Self.pageSize))
    }

    deinit { free(bytes) }

    /// Copy bytes in from outside the guest (loading a blob or a state file's region).
    /// Returns false when they do not fit.
    public func load(_ data: [UInt8], at address: UInt64) -> Bool {
        guard address <= size, UInt64(data.count) <= size - address else { return false }
        data.withUnsafeBytes { src in
            if let base = src.baseAddress { (bytes + Int(address)).copyMemory(from: base, byteCount: data.count) }
        }
        noteWrite(address, UInt64(data.count))
        return true
    }

    /// Bytes as the guest would read them (all-ones outside memory), without counting.
    public func peek(_ address: UInt64, count: Int) -> [UInt8] {
        (0..<UInt64(count)).map { i in
            let a = address &+ i
            return a < size ? bytes.load(fromByteOffset: Int(a), as: UInt8.self) : 0xFF
        }
    }

    @inline(__always)
    func read(_ address: UInt64, _ width: UInt8) -> UInt64 {
        let w = UInt64(width)
        if address < size && w <= size - address {
            let p = bytes + Int(address)
            switch width {
            case 1: return UInt64(p.load(as: UInt8.self))
            case 2: return UInt64(UInt16(littleEndian: p.loadUnaligned(as: UInt16.self)))
            case 4: return UInt64(UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)))
            default: return UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))
            }
        }
        return readSlow(address, width)
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
        if address < size && w <= size - address {
            let p = bytes + Int(address)
            switch width {
            case 1: p.storeBytes(of: UInt8(truncatingIfNeeded: value), as: UInt8.self)
            case 2: p.storeBytes(of: UInt16(truncatingIfNeeded: value).littleEndian, as: UInt16.self)
            case 4: p.storeBytes(of: UInt32(truncatingIfNeeded: value).littleEndian, as: UInt32.self)
            default: p.storeBytes(of: value.littleEndian, as: UInt64.self)
            }
            let first = address >> 12, last = (address &+ w &- 1) >> 12
            if codePages[Int(first)] != 0 || codePages[Int(last)] != 0 { noteWrite(address, w) }
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

    /// Record stores into pages that hold decoded code.
    private func noteWrite(_ address: UInt64, _ count: UInt64) {
        guard count > 0 else { return }
        var page = address >> 12
        let last = (address + count - 1) >> 12
        while page <= last && page < UInt64(codePages.count) {
            if codePages[Int(page)] != 0 {
                codePages[Int(page)] = 0
                writtenCodePages.append(page)
                codeWritten = true
            }
            page += 1
        }
    }
}
