import Foundation

/// A file written while a run goes on (the metrics log, the expert
/// statistics CSV), whole lines only, that replaces an earlier file at its
/// path only once there is something to replace it with.
///
/// Lines go, one `write` each, to a temporary beside the target
/// (`.NAME.tessera-tmp-PID`). `publish()` flushes it and renames it over the
/// target, then syncs the directory; the open descriptor follows the rename,
/// so later lines land in the published file and each later `publish()` only
/// flushes. Until the first publish an earlier file at the path is left as it
/// was: a run that fails before its first checkpoint, or is killed, never
/// costs the user their previous log (a killed run's lines stay in the
/// temporary). A line that cannot be written whole (a full disk) is cut off
/// again, so the file always ends at a line boundary; the lines before it are
/// published and the writer stops: `failure` says why.
public final class GrowingFile {
    /// The path given (a symbolic link is followed when publishing).
    public let path: String
    private let target: String, directory: String
    private var temporary: String?
    private var fd: Int32
    private var length: off_t = 0
    /// Why writing stopped (the first failed line or publish), if it did.
    public private(set) var failure: String?

    /// Starts a new file for `path` (checked by the caller), beginning with `header`.
    public init(path: String, header: String = "") throws {
        self.path = path
        target = AtomicFile.resolved(path)
        let parts = FilePathParts(target)
        directory = parts.directory
        let temporary = (parts.directory == "/" ? "" : parts.directory) + "/.\(parts.name).tessera-tmp-\(getpid())"
        unlink(temporary)  // a leftover of this pid's earlier crash
        fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_APPEND, 0o644)
        guard fd >= 0 else { throw OutputError("cannot write '\(path)': " + FileCause.words(errno, directory)) }
        self.temporary = temporary
        if !header.isEmpty { append(header) }
        if let failure { throw OutputError(failure) }
    }

    deinit {
        if failure == nil { publish() }
        close(fd)
    }

    /// Appends `text` (whole lines) with one write; on failure cuts the file back to
    /// the last whole line, records `failure` and ignores later calls.
    public func append(_ text: String) {
        guard failure == nil else { return }
        let data = Array(text.utf8)
        var written = 0
        while written < data.count {
            let n = data.withUnsafeBytes { raw -> Int in
                if let injected = FaultInjection.writeFailure(path: target) { errno = injected; return -1 }
                return Foundation.write(fd, raw.baseAddress! + written, raw.count - written)
            }
            if n > 0 { written += n; continue }
            if n < 0 && errno == EINTR { continue }
            let code = errno
            _ = ftruncate(fd, length)
            if length > 0 { place() }  // what was written whole becomes the file
            else if let temporary { unlink(temporary); self.temporary = nil }  // nothing to replace an earlier file with
            failure = "cannot write '\(path)': " + FileCause.words(code, directory) + "; it keeps the lines written before"
            return
        }
        length += off_t(written)
    }

    /// Makes the file, as written so far, the file at `path`: the first call
    /// renames the temporary over it; every call flushes the lines to disk.
    @discardableResult
    public func publish() -> Bool {
        guard failure == nil else { return false }
        if let problem = place() { failure = problem }
        return failure == nil
    }

    /// Flushes, and renames the temporary over the target if not done yet; the problem, if any.
    @discardableResult
    private func place() -> String? {
        guard fsync(fd) == 0 || errno == EINVAL else { return "cannot write '\(path)': " + FileCause.words(errno, directory) }
        guard let temporary else { return nil }
        guard rename(temporary, target) == 0 else {
            return "cannot write '\(path)': " + FileCause.words(errno, target) + "; its lines are in \(temporary)"
        }
        self.temporary = nil
        DurableFile.syncDirectory(directory)
        return nil
    }
}
