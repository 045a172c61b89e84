import Foundation

// Standard output and standard error written with write(2) in a loop. FileHandle's `write`
// traps when the write fails (a full disk, `> /dev/full`, a closed descriptor), which would
// end the process with a Swift stack trace.

/// Write all of `text` to `descriptor`; false when the system refused it.
@discardableResult
func writeAll(_ text: String, to descriptor: Int32) -> Bool {
    var bytes = Array(text.utf8)
    return bytes.withUnsafeMutableBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }
}

/// Write to standard output in one piece, with a final newline. When standard output cannot
/// be written, say so on standard error (if it can be) and exit 70: the run's result is lost.
func emit(_ text: String) {
    guard writeAll(text.hasSuffix("\n") ? text : text + "\n", to: STDOUT_FILENO) else {
        let reason = String(cString: strerror(errno))
        writeAll("ringzero: cannot write standard output: \(reason)\n", to: STDERR_FILENO)
        exit(ExitStatus.software)
    }
}

/// Write to standard error; a failure is ignored (diagnostics, progress and trace lines are
/// not the command's result).
func emitError(_ text: String) {
    writeAll(text, to: STDERR_FILENO)
}
