import Foundation

/// The files `data prepare` reads: each argument is a file, a directory
/// (its regular files, recursively, sorted by path) or a glob pattern
/// (`*.txt`, `corpus/**` is not special: glob(3) rules). Every argument must
/// name at least one non-empty file; hidden files in directories are skipped.
public enum DataSources {
    public static func expand(_ args: [String]) throws -> [String] {
        guard !args.isEmpty else { throw TokenizerError("no --data given; name text files, directories or globs") }
        var out: [String] = []
        for a in args {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: a, isDirectory: &isDir) {
                if isDir.boolValue {
                    let files = try filesUnder(a)
                    guard !files.isEmpty else { throw TokenizerError("data directory \(a) holds no files (empty dataset)") }
                    out += files
                } else {
                    out.append(a)
                }
            } else if a.contains("*") || a.contains("?") || a.contains("[") {
                let matches = globFiles(a)
                guard !matches.isEmpty else { throw TokenizerError("data pattern \(a) matches no files (empty dataset)") }
                out += matches
            } else {
                throw TokenizerError("data path \(a) does not exist")
            }
        }
        let nonEmpty = out.filter { ((try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int) ?? 0) > 0 }
        guard !nonEmpty.isEmpty else { throw TokenizerError("the --data files (\(out.count)) are all empty: nothing to prepare (empty dataset)") }
        return nonEmpty
    }

    static func filesUnder(_ dir: String) throws -> [String] {
        guard let e = FileManager.default.enumerator(atPath: dir) else { throw TokenizerError("data directory \(dir) cannot be read") }
        var files: [String] = []
        while let rel = e.nextObject() as? String {
            if (rel as NSString).lastPathComponent.hasPrefix(".") { continue }
            let full = (dir as NSString).appendingPathComponent(rel)
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue { files.append(full) }
        }
        return files.sorted()
    }

    static func globFiles(_ pattern: String) -> [String] {
        var g = glob_t()
        defer { globfree(&g) }
        guard glob(pattern, 0, nil, &g) == 0 else { return [] }
        var out: [String] = []
        for i in 0..<Int(g.gl_pathc) {
            if let p = g.gl_pathv[i], let s = String(validatingCString: p) {
                var isDir: ObjCBool = false
                if FileManager.default.fileExists(atPath: s, isDirectory: &isDir), !isDir.boolValue { out.append(s) }
            }
        }
        return out.sorted()
    }
}
