import Foundation

/// Reading a whole input file (a blob, a state file, a profile, a memory region) with a bound
/// on its size: read(2) to the end, so that a pipe or a device, whose size `stat` reports as
/// 0, is read like a file, and stopping one byte past `limit`, so that `/dev/zero` or a
/// many-gigabyte file is refused without being held in memory.
public enum InputFile {
    public enum Failure: Error, Sendable, Equatable {
        /// No such file.
        case missing
        /// A directory, or a file that cannot be opened or read: the system's reason.
        case unreadable(String)
        /// More than the limit of bytes (`stream`: the bound on a pipe or device,
        /// `streamLimit`, was the one that held).
        case tooLarge(limit: Int, stream: Bool)

        /// Why the file could not be read, for "cannot read FILE: …" (`missing`, `unreadable`).
        public var reason: String {
            switch self {
            case .missing: "no such file"
            case .unreadable(let reason): reason
            case .tooLarge(let limit, _): "more than \(InputFile.describe(limit))"
            }
        }
    }

    /// The most read from a pipe or a device, whose size is not known ahead: what is read is
    /// held in memory before anything can refuse it.
    public static let streamLimit = 256 << 20

    /// The bytes of the file at `path`, at most `limit` of them (at most `streamLimit` from a
    /// pipe or a device).
    public static func read(_ path: String, limit requested: Int) throws(Failure) -> [UInt8] {
        var status = stat()
        guard stat(path, &status) == 0 else {
            if errno == ENOENT { throw .missing }
            throw .unreadable(String(cString: strerror(errno)))
        }
        if status.st_mode & S_IFMT == S_IFDIR { throw .unreadable("a directory") }
        // A regular file's size says at once whether it fits; anything else is read up to a
        // bound that keeps a host's memory safe (`run /dev/zero --memory 32G`).
        let regular = status.st_mode & S_IFMT == S_IFREG
        let limit = regular ? requested : min(requested, streamLimit)
        let stream = !regular && limit < requested
        if regular && Int(clamping: status.st_size) > limit { throw .tooLarge(limit: limit, stream: false) }
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw .unreadable(String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        // A regular file's size is a good first guess; a pipe's is 0.
        bytes.reserveCapacity(min(Int(max(status.st_size, 0)), limit) + 1)
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { Foundation.read(descriptor, $0.baseAddress!, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .unreadable(String(cString: strerror(errno)))
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > limit { throw .tooLarge(limit: limit, stream: stream) }
        }
    }

    /// A byte count as people read it: "16 MiB", "4 KiB", "100 bytes".
    public static func describe(_ count: Int) -> String {
        if count >= 1 << 30 && count % (1 << 30) == 0 { return "\(count >> 30) GiB" }
        if count >= 1 << 20 && count % (1 << 20) == 0 { return "\(count >> 20) MiB" }
        if count >= 1 << 10 && count % (1 << 10) == 0 { return "\(count >> 10) KiB" }
        return "\(count) bytes"
    }
}
