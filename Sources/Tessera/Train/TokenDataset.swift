import Foundation
import TesseraSupport
import TesseraKernels
import TesseraTopology

/// Byte-level token data split into training and validation parts, and the
/// rule that picks each sample of each step.
///
/// Sample g (index in the global batch) of step s starts at an offset drawn
/// from Philox keyed by (seed, "data/train") at counter (g, s): every layout
/// reads exactly the windows the one-rank run reads, whatever slice of the
/// batch it owns, and resuming at step s continues the same sequence.
public struct TokenDataset: Sendable {
    /// Training bytes (the first 90%).
    public let train: [UInt8]
    /// Validation bytes (the last 10%).
    public let validation: [UInt8]
    /// Where the data came from (for messages).
    public let source: String

    /// Splits `bytes` 90/10; throws unless both parts hold a sequence plus its next-token target.
    public init(bytes: [UInt8], source: String, seqLen: Int) throws {
        let need = seqLen + 1
        let valCount = max(need, bytes.count / 10)
        if bytes.count < need + valCount {
            throw DataError("data \(source) has \(bytes.count) bytes; with seq-len \(seqLen) it needs at least "
                            + "\(2 * need) (one sequence of \(need) bytes for training and one for validation). "
                            + "Use a longer file or a smaller --seq-len")
        }
        train = Array(bytes[..<(bytes.count - valCount)])
        validation = Array(bytes[(bytes.count - valCount)...])
        self.source = source
    }

    /// Reads a file; a missing, unreadable, empty or too-short file is a `DataError`.
    public static func load(path: String, seqLen: Int) throws -> TokenDataset {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw DataError("data file '\(path)' does not exist; give --data a readable text file, or omit it to use the built-in corpus")
        }
        if isDir.boolValue { throw DataError("data path '\(path)' is a directory; --data needs a file") }
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
        let bytes = useValidation ? validation : train
        let rng = Philox(seed: seed, stream: useValidation ? "data/validation" : "data/train")
        let windows = UInt64(bytes.count - seqLen)
        var tokens = [Int32](), targets = [Int32]()
        tokens.reserveCapacity(samples.count * seqLen)
        targets.reserveCapacity(samples.count * seqLen)
        for g in samples {
            let w = rng.block(UInt32(truncatingIfNeeded: g), UInt32(truncatingIfNeeded: step), 0, 0)
            let start = Int((UInt64(w.0) << 32 | UInt64(w.1)) % windows)
            for t in 0..<seqLen {
                tokens.append(Int32(bytes[start + t]))
                targets.append(Int32(bytes[start + t + 1]))
            }
        }
        return (tokens, targets)
    }
}

extension TokenDataset {
    /// The data a run trains on: `config.data`, or the built-in corpus.
    public static func of(_ config: TrainConfig) throws -> TokenDataset {
        try config.data.map { try load(path: $0, seqLen: config.model.seqLen) } ?? builtIn(seqLen: config.model.seqLen)
    }
}
