import TesseraKernels

/// The kept choices of a `Routing` sorted by expert, stably (row, then k
/// within the row): the order in which rows leave for their experts
/// (permute) and come back (un-permute).
public struct ExpertOrder: Sendable {
    /// Choice index r·K + k of each sorted slot [M].
    public let choices: [Int]
    /// Slots per global expert [E].
    public let counts: [Int]
    let topK: Int

    /// The kept choices of `r` in expert order.
    public init(_ r: Routing) {
        var counts = [Int](repeating: 0, count: r.experts)
        for (c, e) in r.choice.enumerated() where r.kept[c] { counts[Int(e)] += 1 }
        var next = [Int](repeating: 0, count: r.experts), at = 0
        for e in 0..<r.experts { next[e] = at; at += counts[e] }
        var choices = [Int](repeating: 0, count: at)
        for (c, e) in r.choice.enumerated() where r.kept[c] {
            choices[next[Int(e)]] = c
            next[Int(e)] += 1
        }
        self.choices = choices
        self.counts = counts
        topK = r.topK
    }

    /// Permute: x [rows, d] → the rows of the kept choices in expert order [M, d].
    public func permute(_ x: Tensor) -> Tensor { x.gatheringRows(choices.lazy.map { $0 / topK }) }

    /// Un-permute: y [M, d] in expert order → [rows, d], each row the sum of
    /// its slots' rows times `weight` of their choice (1 when nil).
    public func unpermute(_ y: Tensor, rows: Int, weight: [Float]?) -> Tensor {
        let d = y.shape[1], out = Tensor([rows, d])
        for (s, c) in choices.enumerated() {
            Vector.addScaled(out.data + c / topK * d, y.data + s * d, d, by: weight?[c] ?? 1)
        }
        return out
    }
}
