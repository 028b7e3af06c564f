import Foundation
import Synchronization
import TesseraSupport

/// An exclusive lock on one checkpoint directory, so two runs never write
/// it at once: an advisory `flock` on the file `DIR.lock` beside it, which
/// holds the holder's process id. The kernel drops the lock when the holder
/// exits (even by SIGKILL), so a crash never leaves the directory locked.
/// Within one process the lock is shared: acquiring a directory this process
/// already holds returns the held lock.
public final class CheckpointLock: @unchecked Sendable {
    /// The lock file's path.
    public let path: String
    private let fd: Int32
    private static let held = Mutex<[String: CheckpointLock]>([:])

    private init(path: String, fd: Int32) { self.path = path; self.fd = fd }

    /// Whether this process holds the lock of `dir`.
    public static func isHeld(_ dir: CheckpointDirectory) -> Bool {
        held.withLock { $0[dir.lockPath] != nil }
    }

    /// Takes the lock of `dir` (or returns it if this process holds it).
    /// Throws `CheckpointError` naming the holder's process id when another
    /// process holds it, or naming the reason when the lock file cannot be made.
    public static func acquire(_ dir: CheckpointDirectory) throws -> CheckpointLock {
        try held.withLock { locks in
            if let lock = locks[dir.lockPath] { return lock }
            let lock = try take(dir)
            locks[dir.lockPath] = lock
            return lock
        }
    }

    /// Takes the lock if no other process holds it and the lock file can be made; nil otherwise.
    static func tryAcquire(_ dir: CheckpointDirectory) -> CheckpointLock? { try? acquire(dir) }

    private static func take(_ dir: CheckpointDirectory) throws -> CheckpointLock {
        let path = dir.lockPath
        while true {
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                throw CheckpointError("cannot write checkpoint '\(dir.path)': cannot create \(path): "
                                      + String(cString: strerror(errno)))
            }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let holder = holderPid(fd)
                close(fd)
                throw CheckpointError("checkpoint directory '\(dir.path)' is being written by another run, "
                                      + "process \(holder.map(String.init) ?? "unknown") (lock \(path)); wait for "
                                      + "it to finish or choose another --checkpoint")
            }
            // The previous holder may have unlinked the file between our open and flock: retry on the new one.
            var open = stat(), named = stat()
            guard fstat(fd, &open) == 0, stat(path, &named) == 0, open.st_ino == named.st_ino else {
                close(fd)
                continue
            }
            let pid = Data("\(getpid())\n".utf8)
            _ = ftruncate(fd, 0)
            _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
            return CheckpointLock(path: path, fd: fd)
        }
    }

    private static func holderPid(_ fd: Int32) -> Int? {
        var buf = [UInt8](repeating: 0, count: 32)
        let n = pread(fd, &buf, buf.count, 0)
        guard n > 0 else { return nil }
        return Int(String(decoding: buf[..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Releases the lock and removes the lock file.
    public func release() {
        CheckpointLock.held.withLock { locks in
            guard locks[path] === self else { return }
            locks[path] = nil
            unlink(path)
            close(fd)
        }
    }
}
