import Foundation

/// Reading a file Tessera was given (a config, a trace, a metrics log, a
/// hardware profile, a tokenizer, a shard index): it must be a regular file
/// — a FIFO would block the read forever, a device would never end — of at
/// most `limit` bytes, else a `ConfigError` naming the path, the cause in
/// plain words and what would be valid.
public enum InputFile {
    /// The bytes of `path`, read as `what` ("trace file"); `hint` says how to make a valid one.
    public static func contents(_ path: String, what: String, limit: Int = 1 << 32, hint: String = "") throws -> Data {
        let tail = hint.isEmpty ? "" : " (\(hint))"
        guard let kind = FileCause.kind(of: path) else {
            let cause = FileCause.isSymbolicLink(path) ? "it is a symbolic link to nothing" : "it does not exist"
            throw ConfigError("\(what) '\(path)': \(cause)\(tail)")
        }
        guard kind == "a regular file" else { throw ConfigError("\(what) '\(path)' is \(kind), not a regular file\(tail)") }
        var st = stat()
        if stat(path, &st) == 0, Int(st.st_size) > limit {
            throw ConfigError("\(what) '\(path)' is \(st.st_size) bytes, more than the \(limit) this reader takes")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError("\(what) '\(path)' cannot be read: " + FileCause.words(access(path, R_OK) == 0 ? EIO : errno, path))
        }
        return data
    }
}
