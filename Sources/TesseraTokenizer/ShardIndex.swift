import Foundation
import TesseraSupport

/// `index.json` of a prepared token directory (written last, so a directory
/// without it is an unfinished preparation and is never read): what
/// tokenizer made the ids, how documents were cut and split, and each
/// shard's file, split, token count and SHA-256. The token streams of a
/// split are its shards in order; each document's ids are followed by the
/// end-of-text id when there is one.
public struct ShardIndex: Codable, Sendable, Equatable {
    public struct TokenizerInfo: Codable, Sendable, Equatable {
        /// The tokenizer file given to `prepare` (a copy is `tokenizer.json` in the directory).
        public var file: String
        public var sha256: String
        public var vocabSize: Int
    }
    public struct EndOfText: Codable, Sendable, Equatable {
        public var token: String
        public var id: Int
        public var placement: String
    }
    public struct Documents: Codable, Sendable, Equatable {
        /// `file` (one document per file) or `paragraph` (cut at blank lines).
        public var mode: String
        public var train: Int
        public var validation: Int
    }
    public struct Shard: Codable, Sendable, Equatable {
        public var file: String
        public var split: String
        public var tokens: Int
        public var sha256: String
    }

    public var format = "tessera-token-shards"
    public var version = 1
    public var tokenizer: TokenizerInfo
    public var dtype: TokenWidth
    public var endOfText: EndOfText?
    public var documents: Documents
    public var validationFraction: Double
    public var seed: UInt64
    public var sourceFiles: Int
    public var sourceBytes: Int
    public var shards: [Shard]

    public static let fileName = "index.json"
    /// Present while `prepare` runs; its presence without an index marks a killed run.
    public static let markerName = "PREPARING"

    public func tokens(_ split: String) -> Int { shards.filter { $0.split == split }.reduce(0) { $0 + $1.tokens } }

    func encoded() throws -> Data {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try e.encode(self)
    }

    /// Reads and checks `DIR/index.json`, refusing a directory left by a killed preparation.
    public static func read(dir: String) throws -> ShardIndex {
        let path = (dir as NSString).appendingPathComponent(fileName)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) else { throw TokenizerError("data directory \(dir) does not exist") }
        guard isDir.boolValue else { throw TokenizerError("\(dir) is not a directory of prepared shards") }
        if let kind = FileCause.kind(of: path), kind != "a regular file" {
            throw TokenizerError("shard index \(path) is \(kind), not a regular file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            if FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent(markerName)) {
                throw TokenizerError("data directory \(dir) holds an unfinished preparation (a killed `tessera data prepare`: \(markerName) and no \(fileName)); its shards are not trusted: remove it and prepare again")
            }
            throw TokenizerError("data directory \(dir) has no \(fileName); make one with `tessera data prepare`")
        }
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        guard let index = try? d.decode(ShardIndex.self, from: data), index.format == "tessera-token-shards", index.version == 1 else {
            throw TokenizerError("\(path) is not a Tessera shard index (format tessera-token-shards, version 1)")
        }
        for s in index.shards where s.file.contains("/") || s.file.hasPrefix(".") {
            throw TokenizerError("\(path) names shard \(s.file.debugDescription) outside its directory")
        }
        return index
    }
}
