/// The parts of a file path, split with plain string operations.
///
/// Foundation's `NSString` path functions (`lastPathComponent`,
/// `deletingLastPathComponent`, `pathExtension`, …) trap on Linux for a
/// one-character path such as `a`, so every output path Tessera takes from a
/// user (checkpoint, trace, metrics, plot, profile) is split here instead.
/// Trailing slashes are dropped first, as a directory name ends in one.
public struct FilePathParts: Equatable, Sendable {
    /// The directory holding the last component: "." for a bare name, "/" for a child of the root.
    public let directory: String
    /// The last component ("" for "/" or "").
    public let name: String

    /// The parts of `path`: "a" → (".", "a"), "runs/ck/" → ("runs", "ck"), "/x" → ("/", "x").
    public init(_ path: String) {
        var p = Substring(path)
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        guard let slash = p.lastIndex(of: "/") else {
            directory = "."; name = String(p); return
        }
        name = p == "/" ? "" : String(p[p.index(after: slash)...])
        var dir = p[..<slash]
        while dir.count > 1 && dir.hasSuffix("/") { dir.removeLast() }
        directory = dir.isEmpty ? "/" : String(dir)
    }

    /// The name's extension after its last dot ("json" for "t.json"; "" for "t" or ".hidden").
    public var pathExtension: String {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return "" }
        return String(name[name.index(after: dot)...])
    }

    /// The path without the name's extension ("runs/t" for "runs/t.json"; the path itself when there is none).
    public static func deletingExtension(_ path: String) -> String {
        let ext = FilePathParts(path).pathExtension
        return ext.isEmpty ? path : String(path.dropLast(ext.count + 1))
    }
}
