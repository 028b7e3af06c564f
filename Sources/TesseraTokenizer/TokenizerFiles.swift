import Foundation
import TesseraSupport

/// Reading corpus files and id lists, and writing new tokenizer files, with
/// the checks the command line needs (one-line errors naming the path).
public enum TokenizerFiles {
    /// The bytes of each file, after checking every path (exists, is a file, not empty) first.
    public static func readCorpus(_ paths: [String]) throws -> [[UInt8]] {
        guard !paths.isEmpty else { throw TokenizerError("no --data files given; name one or more text files") }
        for p in paths {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: p, isDirectory: &isDir) else { throw TokenizerError("data file \(p) does not exist") }
            guard !isDir.boolValue else { throw TokenizerError("data file \(p) is a directory; name the text files in it") }
            let size = (try? FileManager.default.attributesOfItem(atPath: p)[.size] as? Int) ?? 0
            guard size > 0 else { throw TokenizerError("data file \(p) is empty") }
        }
        return try paths.map { p in
            if let kind = FileCause.kind(of: p), kind != "a regular file" { throw TokenizerError("data file \(p) is \(kind), not a regular file") }
            guard let d = FileManager.default.contents(atPath: p) else { throw TokenizerError("data file \(p) cannot be read") }
            return [UInt8](d)
        }
    }

    /// Checks that `path` can be created: it must not exist (Tessera does not
    /// overwrite files it did not make) and its directory must exist.
    public static func checkNewOutput(_ path: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else {
            throw TokenizerError("output \(path) already exists; remove it or choose another --out")
        }
        let dir = (path as NSString).deletingLastPathComponent
        var isDir: ObjCBool = false
        guard dir.isEmpty || (FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) && isDir.boolValue) else {
            throw TokenizerError("directory \(dir) of output \(path) does not exist")
        }
    }

    /// Ids written as decimal numbers separated by whitespace, each checked against `vocabSize`.
    public static func parseIds(_ text: String, vocabSize: Int) throws -> [Int32] {
        try text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }).map { s in
            guard let v = Int(s), v >= 0, v < vocabSize else {
                throw TokenizerError("'\(s)' is not a token id of this tokenizer (ids are 0..<\(vocabSize))")
            }
            return Int32(v)
        }
    }
}
