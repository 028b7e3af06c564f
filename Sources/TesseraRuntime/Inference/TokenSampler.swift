import Foundation
import TesseraSupport
import TesseraKernels

/// How the next byte is chosen from a row of logits: greedy (temperature 0),
/// or drawn from softmax(logits / temperature) restricted to the `topK` most
/// likely bytes and then to the smallest set whose probability reaches
/// `topP` (nucleus sampling).
///
/// The uniform draw comes from Philox keyed by (seed, request, position):
/// a request's token at a given position gets the same draw whatever else
/// is in the batch, which slot it sits in, and however the model is laid
/// out over ranks. Only ids below `choices` are ever chosen: the 256 bytes
/// of a byte-level model, or the ids of the model's tokenizer.
public struct TokenSampler: Sendable {
    /// 0: greedy (argmax); > 0: softmax temperature.
    public var temperature: Float
    /// Keep the k most likely bytes (0: all).
    public var topK: Int
    /// Keep the smallest most-likely set with probability ≥ topP, in (0, 1].
    public var topP: Float
    public var seed: UInt64
    /// Ids it may choose among (256: bytes; a tokenizer's vocabulary size).
    public var choices = TokenSampler.byteTokens
    let rng: Philox

    public init(temperature: Float = 0.8, topK: Int = 40, topP: Float = 1, seed: UInt64 = 0) {
        self.temperature = temperature; self.topK = topK; self.topP = topP; self.seed = seed
        rng = Philox(seed: seed, stream: "generate")
    }

    /// Throws a one-line `ConfigError` naming the first setting out of range.
    public func validate() throws {
        guard temperature >= 0, temperature.isFinite else {
            throw ConfigError("--temperature must be 0 (greedy) or a positive number, got \(temperature)")
        }
        guard topK >= 0 else { throw ConfigError("--top-k must be 0 (all bytes) or positive, got \(topK)") }
        guard topP > 0, topP <= 1 else { throw ConfigError("--top-p must be in (0, 1], got \(topP)") }
    }

    /// Bytes a sampler may choose among.
    public static let byteTokens = 256

    /// The id chosen from `logits` [≥ choices] for `request`'s token at `position`.
    public func pick(_ logits: UnsafePointer<Float>, request: Int, position: Int) -> Int32 {
        let n = choices
        if temperature == 0 {
            var best = 0
            for j in 1..<n where logits[j] > logits[best] { best = j }
            return Int32(best)
        }
        // Most likely first; ties keep the lower id, so the order is total.
        var order = (0..<n).sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
        if topK > 0 && topK < n { order.removeLast(n - topK) }
        let top = Double(logits[order[0]]), t = Double(temperature)
        var weights = order.map { Foundation.exp((Double(logits[$0]) - top) / t) }
        if topP < 1 {
            let total = weights.reduce(0, +)
            var acc = 0.0, keep = weights.count
            for (i, w) in weights.enumerated() {
                acc += w
                if acc >= Double(topP) * total { keep = i + 1; break }
            }
            weights.removeLast(weights.count - keep)
        }
        let u = Double(Philox.unit(rng.block(UInt32(truncatingIfNeeded: request), UInt32(truncatingIfNeeded: position),
                                             0, 0).0)) * weights.reduce(0, +)
        var acc = 0.0
        for (i, w) in weights.enumerated() {
            acc += w
            if u < acc { return Int32(order[i]) }
        }
        return Int32(order[weights.count - 1])
    }
}
