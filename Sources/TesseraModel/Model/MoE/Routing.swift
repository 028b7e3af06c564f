import Foundation

/// Where a micro-batch's rows go in a mixture-of-experts block: the
/// router's probabilities, each row's top-k experts with their gates, and
/// which choices survive the experts' capacity. Choice k of row r is at
/// index r·K + k; a row's choices are in descending probability (ties: the
/// lower expert index first).
public struct Routing: Sendable {
    /// Rows routed (samples · positions), experts E and choices per row K.
    public private(set) var rows: Int
    public let experts: Int, topK: Int
    /// Router softmax probabilities [rows, E], float32.
    public var probs: [Float]
    /// logsumexp of each row's logits [rows] (the z-loss reads it).
    public var logSumExp: [Float]
    /// Expert of each choice [rows · K].
    public var choice: [Int32]
    /// Gate of each choice [rows · K]: its probability over the sum of the row's K chosen probabilities.
    public var gate: [Float]
    /// Whether each choice is kept [rows · K] (false: dropped by capacity).
    public var kept: [Bool]
    /// Positions of a whole sample (the sequence length; `rows` / samples unless context parallelism split it).
    public var seqLen = 0
    /// fᵢ of each sample's whole sequence [samples · E]: the fraction of its
    /// choices routed to expert i before dropping (`RouterLosses`), set by the router.
    public var loadFractions: [Float] = []

    /// Routing of `logits` [rows, E]: softmax in float32, top-k with ties
    /// to the lowest expert index, gates renormalised over the k; every
    /// choice kept (capacity decides later).
    public init(logits: UnsafePointer<Float>, rows: Int, experts: Int, topK: Int) {
        self.rows = rows; self.experts = experts; self.topK = topK
        var probs = [Float](repeating: 0, count: rows * experts), lse = [Float](repeating: 0, count: rows)
        var choice = [Int32](repeating: 0, count: rows * topK), gate = [Float](repeating: 0, count: rows * topK)
        for r in 0..<rows {
            let z = logits + r * experts
            var m = -Float.infinity
            for e in 0..<experts { m = max(m, z[e]) }
            var sum: Float = 0
            for e in 0..<experts { probs[r * experts + e] = exp(z[e] - m); sum += probs[r * experts + e] }
            for e in 0..<experts { probs[r * experts + e] /= sum }
            lse[r] = m + log(sum)
            var total: Float = 0, chosen: [Int] = []
            for k in 0..<topK {
                var best = -1
                for e in 0..<experts where !chosen.contains(e) {
                    if best < 0 || probs[r * experts + e] > probs[r * experts + best] { best = e }
                }
                chosen.append(best)
                choice[r * topK + k] = Int32(best)
                total += probs[r * experts + best]
            }
            for k in 0..<topK { gate[r * topK + k] = probs[r * experts + Int(choice[r * topK + k])] / total }
        }
        self.probs = probs; logSumExp = lse; self.choice = choice; self.gate = gate
        kept = [Bool](repeating: true, count: rows * topK)
    }

    /// The routing of rows `indices` only (in that order), with `seqLen` and `loadFractions` as here.
    public func selecting(_ indices: [Int]) -> Routing {
        var r = self
        r.rows = indices.count
        r.probs = indices.flatMap { probs[($0 * experts)..<(($0 + 1) * experts)] }
        r.logSumExp = indices.map { logSumExp[$0] }
        r.choice = indices.flatMap { choice[($0 * topK)..<(($0 + 1) * topK)] }
        r.gate = indices.flatMap { gate[($0 * topK)..<(($0 + 1) * topK)] }
        r.kept = indices.flatMap { kept[($0 * topK)..<(($0 + 1) * topK)] }
        return r
    }

    /// Choices routed to each expert [E], counted before dropping.
    public var routedPerExpert: [Int] {
        var counts = [Int](repeating: 0, count: experts)
        for c in choice { counts[Int(c)] += 1 }
        return counts
    }

    /// Choices dropped by capacity.
    public var dropped: Int { kept.reduce(0) { $0 + ($1 ? 0 : 1) } }
}
