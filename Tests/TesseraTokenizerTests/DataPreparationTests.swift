import Foundation
import Testing
import TesseraTokenizer

/// `data prepare` and the shard reader: the shards hold exactly the ids of
/// each document plus end-of-text, split by documents; every bad directory
/// is refused with a message naming it.
@Suite struct DataPreparationTests {
    static func tempDir(_ name: String) -> String {
        let d = NSTemporaryDirectory() + "tessera-prep-\(name)-\(getpid())"
        try? FileManager.default.removeItem(atPath: d)
        return d
    }

    /// A directory with two files: the trainer corpus with a blank line after every
    /// fourth line (about 175 paragraphs), and the Unicode stress text.
    static let sources: String = {
        let dir = NSTemporaryDirectory() + "tessera-prep-sources-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let corpus = String(decoding: FileManager.default.contents(atPath: TokenizerFixtures.path("trainer_corpus.txt"))!, as: UTF8.self)
        var out = ""
        for (i, line) in corpus.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            out += line + (i % 4 == 3 ? "\n\n" : "\n")
        }
        _ = FileManager.default.createFile(atPath: dir + "/a.txt", contents: Data(out.utf8))
        _ = FileManager.default.createFile(atPath: dir + "/b.txt", contents: Data(TokenizerFixtures.cases[0].text))
        return dir
    }()

    static func prepare(_ out: String, threads: Int = 2) throws -> ShardIndex {
        var p = DataPreparation(tokenizerPath: TokenizerFixtures.path("gpt2_style.json"), data: [sources], out: out)
        p.documents = .paragraph
        p.validationFraction = 0.1
        p.shardTokens = 1024
        p.threads = threads
        return try p.run()
    }

    static func message(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch { return "\(error)" }
    }

    @Test func shardsHoldEveryDocumentsIdsInOrder() throws {
        let out = Self.tempDir("ok")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let index = try Self.prepare(out)
        let tok = try TokenizerFixtures.tokenizer("gpt2_style")
        let eot = Int32(tok.addedTokenId("<|endoftext|>")!)
        #expect(index.dtype == .uint16 && index.endOfText?.id == Int(eot) && index.tokenizer.sha256 == tok.sha256)
        #expect(index.documents.validation > 5 && index.documents.train > 4 * index.documents.validation)
        #expect(index.shards.filter { $0.split == "train" }.count > 3)
        #expect(!FileManager.default.fileExists(atPath: out + "/" + ShardIndex.markerName))

        // Rebuild the expected streams from the documents and compare id for id.
        var prep = DataPreparation(tokenizerPath: "", data: [], out: "")
        prep.validationFraction = 0.1
        var docs: [[UInt8]] = []
        for name in ["a.txt", "b.txt"] {
            let text = [UInt8](FileManager.default.contents(atPath: Self.sources + "/" + name)!)
            var start = 0, i = 0
            while i < text.count {
                if text[i] == 0x0A && i + 1 < text.count && text[i + 1] == 0x0A {
                    docs.append(Array(text[start...i]))
                    var j = i + 1
                    while j < text.count && text[j] == 0x0A { j += 1 }
                    start = j; i = j
                } else { i += 1 }
            }
            if start < text.count { docs.append(Array(text[start...])) }
        }
        #expect(docs.count > 150 && docs.count == index.documents.train + index.documents.validation)
        var train: [Int32] = [], val: [Int32] = []
        for (k, d) in docs.enumerated() {
            let ids = tok.encode(bytes: d, addSpecialTokens: false) + [eot]
            if prep.isValidation(k) { val += ids } else { train += ids }
        }
        let data = try PreparedData(dir: out)
        for (stream, expected) in [(data.train, train), (data.validation, val)] {
            #expect(stream.count == expected.count)
            guard stream.count == expected.count, stream.count >= 1100 else { continue }
            var got = [Int32](repeating: -1, count: stream.count)
            got.withUnsafeMutableBufferPointer { stream.copy(from: 0, count: stream.count, to: $0.baseAddress!) }
            #expect(got == expected)
            // A window across a shard boundary.
            var w = [Int32](repeating: -1, count: 100)
            w.withUnsafeMutableBufferPointer { stream.copy(from: 1000, count: 100, to: $0.baseAddress!) }
            #expect(Array(expected[1000..<1100]) == w)
        }
        #expect(data.tokenizer.sha256 == tok.sha256)
        // One thread gives the same shards.
        let out1 = Self.tempDir("one")
        defer { try? FileManager.default.removeItem(atPath: out1) }
        #expect(try Self.prepare(out1, threads: 1).shards == index.shards)
    }

    @Test func badDirectoriesAreRefusedByName() throws {
        let out = Self.tempDir("bad")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let index = try Self.prepare(out)
        #expect(Self.message { _ = try Self.prepare(out) }.contains("already holds prepared data"))

        // Corrupt one byte of a shard: named with both checksums.
        let shard = out + "/" + index.shards[1].file
        var bytes = [UInt8](FileManager.default.contents(atPath: shard)!)
        bytes[2000] ^= 1
        _ = FileManager.default.createFile(atPath: shard, contents: Data(bytes))
        let corrupt = Self.message { _ = try PreparedData(dir: out) }
        #expect(corrupt.contains(index.shards[1].file) && corrupt.contains("corrupt") && corrupt.contains(index.shards[1].sha256))
        // Truncate it.
        _ = FileManager.default.createFile(atPath: shard, contents: Data(bytes.prefix(1500)))
        #expect(Self.message { _ = try PreparedData(dir: out) }.contains("truncated"))

        // A killed run: marker, no index.
        try FileManager.default.removeItem(atPath: out + "/index.json")
        _ = FileManager.default.createFile(atPath: out + "/" + ShardIndex.markerName, contents: Data())
        #expect(Self.message { _ = try PreparedData(dir: out) }.contains("unfinished preparation"))
        #expect(Self.message { _ = try Self.prepare(out) }.contains("unfinished preparation"))

        // A directory someone else made is not written into.
        let foreign = Self.tempDir("foreign")
        try FileManager.default.createDirectory(atPath: foreign, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: foreign + "/notes.txt", contents: Data("mine".utf8))
        defer { try? FileManager.default.removeItem(atPath: foreign) }
        #expect(Self.message { _ = try Self.prepare(foreign) }.contains("not empty"))
        #expect(FileManager.default.contents(atPath: foreign + "/notes.txt") == Data("mine".utf8))
    }

    @Test func emptyDatasetsAndBadSettings() throws {
        let empty = Self.tempDir("emptysrc")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let out = Self.tempDir("emptyout")
        defer { try? FileManager.default.removeItem(atPath: out) }
        var p = DataPreparation(tokenizerPath: TokenizerFixtures.path("gpt2_style.json"), data: [empty], out: out)
        #expect(Self.message { _ = try p.run() }.contains("empty dataset"))
        _ = FileManager.default.createFile(atPath: empty + "/a.txt", contents: Data())
        #expect(Self.message { _ = try p.run() }.contains("empty dataset"))
        p.data = [empty + "/*.md"]
        #expect(Self.message { _ = try p.run() }.contains("matches no files"))
        p.data = [TokenizerFixtures.path("trainer_corpus.txt")]
        p.endOfText = "<eos>"
        #expect(Self.message { _ = try p.run() }.contains("\"<eos>\" is not in"))
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
