import Foundation

/// Writing files so that they survive a crash or power loss once written:
/// POSIX `open`/`write`/`fsync`, with every failure reported as one line
/// naming the path and the system's reason ("No space left on device"),
/// never a raw Foundation error dump.
public enum DurableFile {
    /// Writes `data` to a new file at `path` (which must not exist) and
    /// flushes it to disk. Throws `OutputError` naming the path and reason.
    public static func write(_ data: Data, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw OutputError.system("cannot create \(path)") }
        defer { close(fd) }
        var written = 0
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            while written < raw.count {
                if let injected = FaultInjection.writeFailure(path: path) { errno = injected }
                else {
                    let n = Foundation.write(fd, raw.baseAddress! + written, raw.count - written)
                    if n > 0 { written += n; continue }
                    if n < 0 && errno == EINTR { continue }
                }
                throw OutputError.system("cannot write \(path) (\(written) of \(raw.count) bytes written)")
            }
        }
        guard fsync(fd) == 0 else { throw OutputError.system("cannot flush \(path) to disk") }
    }

    /// Flushes a directory's entries (new names, renames) to disk; best effort.
    public static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }
}

extension TesseraError where Tag == OutputKind {
    /// `what` followed by the current `errno`'s text: "cannot write X: No space left on device".
    package static func system(_ what: String) -> OutputError {
        OutputError("\(what): \(String(cString: strerror(errno)))")
    }
}
