import Foundation

/// Why a path cannot be used, in plain words: what is there (a directory, a
/// FIFO, a device, nothing) and what the system refused (read-only file
/// system, no space, permission). One place, so every command names the
/// same cause the same way instead of a Foundation error dump.
public enum FileCause {
    /// What kind of thing is at `path` (following symbolic links), or nil when nothing is.
    public static func kind(of path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return "a regular file"
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a FIFO (named pipe)"
        case S_IFCHR, S_IFBLK: return "a device"
        case S_IFSOCK: return "a socket"
        default: return "not a regular file"
        }
    }

    /// Whether `path` (following links) is a regular file.
    public static func isRegularFile(_ path: String) -> Bool { kind(of: path) == "a regular file" }

    /// Whether `path` (following links) is a directory.
    public static func isDirectory(_ path: String) -> Bool { kind(of: path) == "a directory" }

    /// Whether `path` itself is a symbolic link.
    public static func isSymbolicLink(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFLNK
    }

    /// `code` (an `errno`) in plain words, naming `path` where it helps:
    /// "'out' is on a read-only file system", "no space left on the file system of 'out'".
    public static func words(_ code: Int32, _ path: String) -> String {
        switch code {
        case EROFS: return "'\(path)' is on a read-only file system"
        case ENOSPC, EDQUOT: return "no space left on the file system of '\(path)'"
        case EACCES, EPERM: return "permission denied for '\(path)'"
        case ENOTDIR: return "a component of '\(path)' is not a directory"
        case ENOENT: return "'\(path)' does not exist"
        case EISDIR: return "'\(path)' is a directory"
        case ENAMETOOLONG: return "the name '\(path)' is too long"
        case EEXIST: return "'\(path)' already exists"
        default: return "'\(path)': " + String(cString: strerror(code)).lowercased()
        }
    }

    /// Why the directory `dir` cannot receive a new file, or nil when it can
    /// (checked by creating and removing a probe file in it).
    public static func directoryProblem(_ dir: String) -> String? {
        guard let kind = kind(of: dir) else {
            return isSymbolicLink(dir) ? "'\(dir)' is a symbolic link to nothing" : "the directory '\(dir)' does not exist; create it first"
        }
        guard kind == "a directory" else { return "'\(dir)' is \(kind), not a directory" }
        let probe = (dir == "/" ? "" : dir) + "/.tessera-probe-\(getpid())"
        let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let code = errno
            // The directory is there, yet creating in it says "no such file": a file system that takes no new files.
            if code == ENOENT { return "'\(dir)' takes no new files (a special file system such as /proc or /sys)" }
            return "cannot create a file in it: " + words(code, dir)
        }
        close(fd)
        unlink(probe)
        var fs = statvfs()
        if statvfs(dir, &fs) == 0 && fs.f_bavail == 0 { return words(ENOSPC, dir) }
        return nil
    }
}
