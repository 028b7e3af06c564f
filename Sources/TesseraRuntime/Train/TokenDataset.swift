import Foundation
import TesseraTokenizer
import TesseraSupport
import TesseraKernels
import TesseraTopology

/// Token data split into training and validation parts, and the rule that
/// picks each sample of each step. The ids are a text file's bytes
/// (vocabulary 256), a text file encoded with a tokenizer, or the shards of
/// a `tessera data prepare` directory (memory-mapped; see `TokenSequence`).
///
/// Sample g (index in the global batch) of step s starts at an offset drawn
/// from Philox keyed by (seed, "data/train") at counter (g, s): every layout
/// reads exactly the windows the one-rank run reads, whatever slice of the
/// batch it owns, and resuming at step s continues the same sequence.
public struct TokenDataset: Sendable {
    /// Training ids (the first 90% of a text file, or the prepared train split).
    public let train: TokenSequence
    /// Validation ids (the last 10%, or the prepared validation split).
    public let validation: TokenSequence
    /// Where the data came from (for messages).
    public let source: String
    /// The tokenizer that made the ids (nil: the ids are bytes).
    public let tokenizer: Tokenizer?
    /// Ids are below this (256 for bytes, else the tokenizer's vocabulary).
    public let vocabSize: Int

    /// The SHA-256 of the tokenizer's canonical tokenizer.json (nil for bytes).
    public var tokenizerSHA256: String? { tokenizer?.sha256 }

    /// Splits `bytes` 90/10; throws unless both parts hold a sequence plus its next-token target.
    public init(bytes: [UInt8], source: String, seqLen: Int) throws {
        let need = seqLen + 1
        let valCount = max(need, bytes.count / 10)
        if bytes.count < need + valCount {
            throw DataError("data \(source) has \(bytes.count) bytes; with seq-len \(seqLen) it needs at least "
                            + "\(2 * need) (one sequence of \(need) bytes for training and one for validation). "
                            + "Use a longer file or a smaller --seq-len")
        }
        train = .bytes(Array(bytes[..<(bytes.count - valCount)]))
        validation = .bytes(Array(bytes[(bytes.count - valCount)...]))
        self.source = source
        tokenizer = nil
        vocabSize = 256
    }

    /// Ids made by `tokenizer`, split 90/10 (a text file encoded whole) or as
    /// prepared; throws unless both parts hold a sequence plus its next-token target.
    public init(train: TokenSequence, validation: TokenSequence, source: String, tokenizer: Tokenizer, seqLen: Int) throws {
        let need = seqLen + 1
        for (name, part) in [("training", train), ("validation", validation)] where part.count < need {
            throw DataError("data \(source) has \(part.count) \(name) tokens; with seq-len \(seqLen) it needs at least \(need). "
                            + "Use more data or a smaller --seq-len")
        }
        self.train = train
        self.validation = validation
        self.source = source
        self.tokenizer = tokenizer
        vocabSize = tokenizer.vocabSize
    }

    /// Reads a file; a missing, unreadable, empty or too-short file is a `DataError`.
    public static func load(path: String, seqLen: Int) throws -> TokenDataset {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw DataError("data file '\(path)' does not exist; give --data a readable text file, or omit it to use the built-in corpus")
        }
        if isDir.boolValue { throw DataError("data path '\(path)' is a directory; --data needs a file") }
        if let kind = FileCause.kind(of: path), kind != "a regular file" {
            throw DataError("data file '\(path)' is \(kind), not a regular file; give --data a text file or a `data prepare` directory")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataError("data file '\(path)' cannot be read (check its permissions)")
        }
        if data.isEmpty { throw DataError("data file '\(path)' is empty; it needs at least \(2 * (seqLen + 1)) bytes") }
        return try TokenDataset(bytes: [UInt8](data), source: "'\(path)'", seqLen: seqLen)
    }

    /// The built-in corpus (see `BuiltInCorpus`).
    public static func builtIn(seqLen: Int) throws -> TokenDataset {
        try TokenDataset(bytes: BuiltInCorpus.generate(), source: "built-in corpus", seqLen: seqLen)
    }

    /// Inputs and next-token targets for global samples `samples` of `step`,
    /// each [samples.count · seqLen], sample-major. `validation` draws from
    /// the held-out part (with its own stream).
    public func batch(step: Int, samples: Range<Int>, seqLen: Int, seed: UInt64,
                      validation useValidation: Bool = false) -> (tokens: [Int32], targets: [Int32]) {
        let part = useValidation ? validation : train
        let rng = Philox(seed: seed, stream: useValidation ? "data/validation" : "data/train")
        let windows = UInt64(part.count - seqLen)
        var tokens = [Int32](), targets = [Int32]()
        tokens.reserveCapacity(samples.count * seqLen)
        targets.reserveCapacity(samples.count * seqLen)
        var window = [Int32]()
        window.reserveCapacity(seqLen + 1)
        for g in samples {
            let w = rng.block(UInt32(truncatingIfNeeded: g), UInt32(truncatingIfNeeded: step), 0, 0)
            let start = Int((UInt64(w.0) << 32 | UInt64(w.1)) % windows)
            window.removeAll(keepingCapacity: true)
            part.append(from: start, count: seqLen + 1, to: &window)
            tokens.append(contentsOf: window[..<seqLen])
            targets.append(contentsOf: window[1...])
        }
        return (tokens, targets)
    }
}

extension TokenDataset {
    /// The data a run trains on: `config.data` (a text file, read as bytes or
    /// encoded with `config.tokenizer`, or a prepared shard directory), or the
    /// built-in corpus; checked against the model's vocabulary and against the
    /// tokenizer the run (or its checkpoint) names.
    public static func of(_ config: TrainConfig) throws -> TokenDataset {
        let data = try unchecked(config)
        if let expected = config.tokenizerSha256, expected != data.tokenizerSHA256 {
            throw DataError("data \(data.source) was made with tokenizer sha256 \(data.tokenizerSHA256 ?? "none (bytes)"), "
                            + "but this run's checkpoint was trained with tokenizer sha256 \(expected); use data prepared with that tokenizer")
        }
        if data.vocabSize > config.model.vocab {
            throw DataError("data \(data.source) has a vocabulary of \(data.vocabSize) tokens but the model's --vocab is "
                            + "\(config.model.vocab); set --vocab \(data.vocabSize) or more")
        }
        return data
    }

    private static func unchecked(_ config: TrainConfig) throws -> TokenDataset {
        let seqLen = config.model.seqLen
        guard let path = config.data else {
            if config.tokenizer != nil { throw DataError("--tokenizer needs --data (a text file to encode, or a prepared directory)") }
            return try builtIn(seqLen: seqLen)
        }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            let prepared: PreparedData
            do { prepared = try PreparedData(dir: path) } catch let e as TokenizerError { throw DataError(e.message) }
            if let named = config.tokenizer {
                let tok = try loadTokenizer(named)
                guard tok.sha256 == prepared.tokenizer.sha256 else {
                    throw DataError("--tokenizer \(named) has sha256 \(tok.sha256) but \(path) was prepared with tokenizer sha256 "
                                    + "\(prepared.tokenizer.sha256); give the tokenizer the data was prepared with, or none")
                }
            }
            return try TokenDataset(train: .shards(prepared.train), validation: .shards(prepared.validation),
                                    source: "'\(path)'", tokenizer: prepared.tokenizer, seqLen: seqLen)
        }
        guard let named = config.tokenizer else { return try load(path: path, seqLen: seqLen) }
        let tok = try loadTokenizer(named)
        let bytes = try load(path: path, seqLen: 0)
        var all: [UInt8] = []
        for part in [bytes.train, bytes.validation] { if case .bytes(let b) = part.storage { all += b } }
        let ids = tok.encodeParallel(bytes: all, threads: ProcessInfo.processInfo.activeProcessorCount, addSpecialTokens: false)
        let valCount = max(seqLen + 1, ids.count / 10)
        guard ids.count >= 2 * (seqLen + 1) else {
            throw DataError("data '\(path)' encodes to \(ids.count) tokens; with seq-len \(seqLen) it needs at least \(2 * (seqLen + 1)). "
                            + "Use a longer file or a smaller --seq-len")
        }
        return try TokenDataset(train: .ids(Array(ids[..<(ids.count - valCount)])), validation: .ids(Array(ids[(ids.count - valCount)...])),
                                source: "'\(path)'", tokenizer: tok, seqLen: seqLen)
    }

    static func loadTokenizer(_ path: String) throws -> Tokenizer {
        do { return try Tokenizer.load(path: path) } catch let e as TokenizerError { throw DataError(e.message) }
    }
}
