import Foundation
import Testing
import Tessera
import TesseraTokenizer

/// Training on prepared token shards: the windows equal those of the same
/// ids held in memory, every layout reads what one rank reads, resume
/// continues at the exact sequence, and mismatched tokenizers or
/// vocabularies are refused naming both sides.
@Suite struct ShardedDataTests {
    static func tokenizerFixture(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("TesseraTokenizerTests/Fixtures/" + name).path
    }

    /// Twelve files (one document each) cut from the trainer corpus, prepared
    /// into 1024-id shards; returns the directory and the expected streams.
    static func prepared(_ name: String) throws -> (dir: String, train: [Int32], validation: [Int32]) {
        let base = TestSupport.temporaryPath("shards-\(name)")
        try? FileManager.default.removeItem(atPath: base)
        try FileManager.default.createDirectory(atPath: base + "/src", withIntermediateDirectories: true)
        let corpus = [UInt8](FileManager.default.contents(atPath: tokenizerFixture("trainer_corpus.txt"))!)
        let tok = try Tokenizer.load(path: tokenizerFixture("gpt2_style.json"))
        let eot = Int32(tok.addedTokenId("<|endoftext|>")!)
        var docs: [[UInt8]] = []
        for k in 0..<12 {
            let doc = Array(corpus[(k * corpus.count / 12)..<((k + 1) * corpus.count / 12)])
            docs.append(doc)
            _ = FileManager.default.createFile(atPath: base + "/src/" + String(format: "doc%02d.txt", k), contents: Data(doc))
        }
        var prep = DataPreparation(tokenizerPath: tokenizerFixture("gpt2_style.json"), data: [base + "/src"], out: base + "/shards")
        prep.validationFraction = 0.2
        prep.shardTokens = 1024
        prep.threads = 2
        let index = try prep.run()
        var held = (0..<12).map { prep.isValidation($0) }
        if !held.contains(true) { held[11] = true }
        var train: [Int32] = [], validation: [Int32] = []
        for (k, d) in docs.enumerated() {
            let ids = tok.encode(bytes: d, addSpecialTokens: false) + [eot]
            if held[k] { validation += ids } else { train += ids }
        }
        #expect(index.tokens("train") == train.count && index.shards.count > 4)
        return (base + "/shards", train, validation)
    }

    static func config(data: String) -> TrainConfig {
        var c = TrainingTests.tinyConfig(steps: 6, dropout: 0.1)
        c.model.vocab = 768
        c.data = data
        return c
    }

    @Test func shardWindowsEqualTheSameIdsInMemory() throws {
        let (dir, train, validation) = try Self.prepared("windows")
        defer { try? FileManager.default.removeItem(atPath: (dir as NSString).deletingLastPathComponent) }
        let c = Self.config(data: dir)
        let mapped = try TokenDataset.of(c)
        let tok = try Tokenizer.load(path: Self.tokenizerFixture("gpt2_style.json"))
        let memory = try TokenDataset(train: .ids(train), validation: .ids(validation), source: "memory", tokenizer: tok, seqLen: 16)
        #expect(mapped.train.count == train.count && mapped.validation.count == validation.count)
        #expect(mapped.tokenizerSHA256 == tok.sha256 && mapped.vocabSize == 700)
        for step in 0..<20 {
            for v in [false, true] {
                let a = mapped.batch(step: step, samples: 0..<8, seqLen: 16, seed: 7, validation: v)
                let b = memory.batch(step: step, samples: 0..<8, seqLen: 16, seed: 7, validation: v)
                #expect(a.tokens == b.tokens && a.targets == b.targets)
            }
        }
    }

    @Test func everyLayoutReadsWhatOneRankReadsOnShards() throws {
        Compute.threads = 1
        let (dir, _, _) = try Self.prepared("verify")
        defer { try? FileManager.default.removeItem(atPath: (dir as NSString).deletingLastPathComponent) }
        var c = Equivalence.defaultConfig
        c.model.layers = 2
        c.model.vocab = 768
        c.data = dir
        c.layout = try Layout(name: "dp2×tp2+sp")
        c.steps = 3
        let report = try #require(try Equivalence.run(config: c, data: try TokenDataset.of(c), backend: .threads))
        #expect(report.passed, "\(report.lines.joined(separator: "\n"))")
    }

    @Test func resumeOnShardsContinuesAtTheExactSequence() throws {
        Compute.threads = 1
        let (dir, _, _) = try Self.prepared("resume")
        defer { try? FileManager.default.removeItem(atPath: (dir as NSString).deletingLastPathComponent) }
        var c = Self.config(data: dir)
        let data = try TokenDataset.of(c)
        c.tokenizerSha256 = data.tokenizerSHA256
        let straight = try Trainer(config: c, data: data)
        let straightLosses = try (0..<6).map { _ in try straight.trainStep().loss }
        let ckptDir = TestSupport.temporaryPath("shard-ckpt")
        defer { try? FileManager.default.removeItem(atPath: ckptDir) }
        let first = try Trainer(config: c, data: data)
        for _ in 0..<3 { _ = try first.trainStep() }
        try first.checkpoint().save(to: ckptDir)
        let ckpt = try Checkpoint.load(from: ckptDir)
        #expect(ckpt.config.tokenizerSha256 == data.tokenizerSHA256 && ckpt.config.data == dir)
        let resumed = try Trainer(config: ckpt.config, data: try TokenDataset.of(ckpt.config), resume: (ckpt, ckptDir))
        #expect(try (0..<3).map { _ in try resumed.trainStep().loss } == Array(straightLosses[3...]))
    }

    @Test func mismatchedTokenizersAndVocabulariesAreRefused() throws {
        let (dir, _, _) = try Self.prepared("bad")
        defer { try? FileManager.default.removeItem(atPath: (dir as NSString).deletingLastPathComponent) }
        var c = Self.config(data: dir)
        let sha = try TokenDataset.of(c).tokenizerSHA256!
        c.tokenizerSha256 = String(repeating: "ab", count: 32)
        let m = TestSupport.message { _ = try TokenDataset.of(c) }
        #expect(m.contains(sha) && m.contains(String(repeating: "ab", count: 32)))

        c = Self.config(data: dir)
        c.tokenizer = Self.tokenizerFixture("llama3_style.json")
        let other = try Tokenizer.load(path: c.tokenizer!).sha256
        let m2 = TestSupport.message { _ = try TokenDataset.of(c) }
        #expect(m2.contains(sha) && m2.contains(other))

        c = Self.config(data: dir)
        c.model.vocab = 512
        let m3 = TestSupport.message { _ = try TokenDataset.of(c) }
        #expect(m3.contains("700") && m3.contains("--vocab 700"))

        // A text file encoded with --tokenizer trains on ids, not bytes.
        c = Self.config(data: Self.tokenizerFixture("trainer_corpus.txt"))
        c.tokenizer = Self.tokenizerFixture("gpt2_style.json")
        let text = try TokenDataset.of(c)
        let ids = try Tokenizer.load(path: c.tokenizer!).encode(
            bytes: [UInt8](FileManager.default.contents(atPath: c.data!)!), addSpecialTokens: false)
        #expect(text.train.count + text.validation.count == ids.count && text.vocabSize == 700)
    }
}
