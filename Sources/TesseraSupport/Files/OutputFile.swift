import Foundation

/// The checks on a file path Tessera will write (a trace, an SVG, a
/// profile, logits, an export's files), made before any work starts, so a
/// run never learns at the end that it cannot save. A path is accepted when
/// it is new in a directory that can take a file, or names a regular file
/// Tessera may replace (`replaceable`); a directory, FIFO, device or socket
/// is refused, as is an existing file that is not Tessera's.
public enum OutputFile {
    /// Throws a `ConfigError` "cannot write WHAT 'PATH': CAUSE" unless `path`
    /// can be written as described above. `example` is a valid name
    /// ("trace.json") for the message when the path names no file.
    public static func check(_ path: String, what: String, example: String,
                             replaceable: (String) -> Bool = { _ in true }) throws {
        func refuse(_ why: String) -> ConfigError { ConfigError("cannot write \(what) '\(path)': \(why)") }
        guard !path.isEmpty, !path.hasSuffix("/"), !["." , ".."].contains(FilePathParts(path).name) else {
            throw refuse("give a file name, e.g. \(example)")
        }
        if let kind = FileCause.kind(of: path) {
            guard kind == "a regular file" else { throw refuse("it is \(kind), not a regular file; give a file name, e.g. \(example)") }
            guard replaceable(path) else {
                throw refuse("it exists and is not a \(what) Tessera wrote; choose a new file or move it away")
            }
        } else if FileCause.isSymbolicLink(path) {
            throw refuse("it is a symbolic link to nothing")
        }
        let target = AtomicFile.resolved(path)
        if let problem = FileCause.directoryProblem(FilePathParts(target).directory) { throw refuse(problem) }
    }

    /// Throws a `ConfigError` unless no two of `paths` (flag → path) name the same file, so one output cannot overwrite another.
    public static func requireDistinct(_ paths: [(flag: String, path: String?)]) throws {
        var seen: [String: String] = [:]
        for (flag, path) in paths {
            guard let path else { continue }
            let key = AtomicFile.resolved(path).replacingOccurrences(of: "/./", with: "/")
            let canonical = key.hasPrefix("./") ? String(key.dropFirst(2)) : key
            if let first = seen[canonical] {
                throw ConfigError("\(first) and \(flag) name the same file '\(path)'; give each its own file")
            }
            seen[canonical] = flag
        }
    }
}
