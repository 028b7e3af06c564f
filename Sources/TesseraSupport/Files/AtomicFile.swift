import Foundation

/// Writing a whole file or nothing: the bytes go to a temporary file beside
/// the target, are flushed to disk, then renamed over the target, and the
/// directory is flushed — a crash, a full disk or a kill leaves either the
/// previous file or the new one, never a truncated mix. Every file Tessera
/// writes in one piece (exports, SVGs, traces, profiles, logits, tokenizer
/// files, data shards and indexes) goes through here; checkpoints use the
/// same `DurableFile` writes inside their staging directory.
public enum AtomicFile {
    /// Writes `data` as the whole content of `path` (a symbolic link is
    /// followed: its target is replaced, the link kept). Throws an
    /// `OutputError` naming the path and the cause in plain words; on any
    /// failure the previous content of `path` is untouched and no temporary is left.
    public static func write(_ data: Data, to path: String) throws {
        let target = resolved(path)
        let parts = FilePathParts(target)
        let temporary = (parts.directory == "/" ? "" : parts.directory) + "/.\(parts.name).tessera-tmp-\(getpid())"
        unlink(temporary)  // a leftover of this pid's earlier crash
        do {
            try DurableFile.write(data, to: temporary)
            if let injected = FaultInjection.writeFailure(path: target) { errno = injected; throw OutputError("injected") }
        } catch {
            let code = errno
            unlink(temporary)
            throw OutputError("cannot write '\(path)': " + FileCause.words(code, parts.directory))
        }
        guard rename(temporary, target) == 0 else {
            let code = errno
            unlink(temporary)
            throw OutputError("cannot write '\(path)': " + FileCause.words(code, target))
        }
        DurableFile.syncDirectory(parts.directory)
    }

    /// Writes text as UTF-8 (see `write(_:to:)`).
    public static func write(_ text: String, to path: String) throws { try write(Data(text.utf8), to: path) }

    /// `path` with a final symbolic link followed (to its target, absolute or
    /// relative to the link's directory); `path` itself when it is not a link.
    public static func resolved(_ path: String) -> String {
        var current = path
        for _ in 0..<16 {
            guard FileCause.isSymbolicLink(current) else { return current }
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(current, &buffer, buffer.count - 1)
            guard n > 0 else { return current }
            let link = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let dir = FilePathParts(current).directory
            current = link.hasPrefix("/") ? link : (dir == "." ? link : dir + "/" + link)
        }
        return current
    }
}
