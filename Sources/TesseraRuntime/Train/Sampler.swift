import Foundation
import TesseraKernels
import TesseraModel

/// Autoregressive sampling from a trained model: temperature and top-k.
/// Each token is drawn with Philox keyed by (seed, "sample") at its index,
/// so a given seed always produces the same text.
public struct Sampler {
    public let model: GPT
    /// Softmax temperature (> 0); lower is more conservative.
    public var temperature: Float
    /// Keep only the k most likely tokens (0 or ≥ vocab: all).
    public var topK: Int
    public var seed: UInt64

    public init(model: GPT, temperature: Float = 0.8, topK: Int = 40, seed: UInt64 = 0) {
        self.model = model; self.temperature = temperature; self.topK = topK; self.seed = seed
    }

    /// Continues `prompt` by `count` bytes, calling `emit` with each new byte.
    public func generate(prompt: [UInt8], count: Int, emit: (UInt8) -> Void = { _ in }) throws -> [UInt8] {
        let start = prompt.isEmpty ? [Int32(UInt8(ascii: "\n"))] : prompt.map { Int32($0) }
        return try generateTokens(prompt: start, count: count, allowed: 256) { emit(UInt8($0)) }.map { UInt8($0) }
    }

    /// Continues `prompt` (token ids) by `count` ids, each below `allowed`
    /// (256 for byte models; a tokenizer's vocabulary, so unused padding ids
    /// of the model's vocabulary are never emitted), calling `emit` with each.
    public func generateTokens(prompt: [Int32], count: Int, allowed: Int, emit: (Int32) -> Void = { _ in }) throws -> [Int32] {
        let T = model.config.seqLen, V = model.config.vocab
        let rng = Philox(seed: seed, stream: "sample")
        var tokens = prompt
        var out: [Int32] = []
        for i in 0..<count {
            let window = Array(tokens.suffix(T))
            let ctx = ForwardContext(samples: 1, positions: window.count, sampleOffset: 0, step: 0, seed: seed, dropout: 0)
            let logits = try model.logits(window, ctx)
            let last = logits.data + (window.count - 1) * V
            var scored = (0..<min(allowed, V)).map { (token: $0, logit: last[$0] / temperature) }
            if topK > 0 && topK < scored.count {
                scored.sort { $0.logit > $1.logit }
                scored.removeLast(scored.count - topK)
            }
            let mx = scored.map(\.logit).max()!
            let weights = scored.map { Foundation.exp(Double($0.logit - mx)) }
            let u = Double(Philox.unit(rng.block(UInt32(i), 0, 0, 0).0)) * weights.reduce(0, +)
            var acc = 0.0, pick = scored.last!.token
            for (s, w) in zip(scored, weights) { acc += w; if u < acc { pick = s.token; break } }
            let id = Int32(pick)
            tokens.append(id)
            out.append(id)
            emit(id)
        }
        return out
    }
}
