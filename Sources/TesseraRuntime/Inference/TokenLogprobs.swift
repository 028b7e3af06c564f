import Foundation

/// A sampled token's log-probability and the most likely alternatives at its
/// position, from the model's raw logits (before temperature, top-k or
/// top-p: what the model assigns, as vLLM reports by default):
/// log p(i) = z_i − log Σ_j exp z_j over the ids a sampler may choose.
public struct TokenLogprobs: Sendable, Equatable {
    /// One id and its log-probability.
    public struct Entry: Sendable, Equatable {
        public var token: Int32, logprob: Float
        public init(token: Int32, logprob: Float) { self.token = token; self.logprob = logprob }
    }

    /// The sampled id and its log-probability.
    public var sampled: Entry
    /// The `top` most likely ids, most likely first (ties: the lower id first).
    public var top: [Entry]

    public init(sampled: Entry, top: [Entry]) { self.sampled = sampled; self.top = top }

    /// Most alternatives a request may ask for (OpenAI's limit for chat's `top_logprobs`).
    public static let maxTop = 20

    /// From a row of logits [≥ choices]: `picked`'s log-probability and the `top` most likely ids'.
    /// The log-sum-exp is taken in Double after subtracting the row's maximum.
    public init(logits: UnsafePointer<Float>, choices: Int, picked: Int32, top: Int) {
        var peak = -Float.infinity
        for j in 0..<choices { peak = max(peak, logits[j]) }
        var sum = 0.0
        for j in 0..<choices { sum += Foundation.exp(Double(logits[j] - peak)) }
        let lse = Double(peak) + Foundation.log(sum)
        func lp(_ j: Int) -> Float { Float(Double(logits[j]) - lse) }
        sampled = Entry(token: picked, logprob: lp(Int(picked)))
        let k = min(top, choices)
        var best: [Int] = []
        best.reserveCapacity(k + 1)
        if k > 0 {
            // Insertion into a short sorted list: k ≤ 20 against a row of `choices` ids.
            for j in 0..<choices {
                if best.count == k, let last = best.last, !(logits[j] > logits[last]) { continue }
                var i = best.count
                while i > 0 && logits[j] > logits[best[i - 1]] { i -= 1 }
                best.insert(j, at: i)
                if best.count > k { best.removeLast() }
            }
        }
        self.top = best.map { Entry(token: Int32($0), logprob: lp($0)) }
    }

    /// Floats `packed` writes for `top` alternatives: the sampled log-probability, then (id, log-probability) pairs.
    static func packedCount(top: Int) -> Int { 1 + 2 * top }

    /// [sampled logprob, id₀, lp₀, id₁, lp₁, ...] (ids below 2²⁴ are exact in a Float).
    var packed: [Float] { [sampled.logprob] + top.flatMap { [Float($0.token), $0.logprob] } }

    /// The value `packed` wrote, for sampled id `token` with `top` alternatives.
    init(unpacking p: ArraySlice<Float>, token: Int32, top: Int) {
        let base = p.startIndex
        sampled = Entry(token: token, logprob: p[base])
        self.top = (0..<top).map { Entry(token: Int32(p[base + 1 + 2 * $0]), logprob: p[base + 2 + 2 * $0]) }
    }
}
