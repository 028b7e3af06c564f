import Foundation

/// An attention layer under tensor parallelism: the heads are split over the
/// ranks. Q, K and V's projections are column-parallel (rank r holds the
/// columns of its heads), each rank runs causal attention on its heads alone,
/// and the output projection is row-parallel (the rows of its heads), so the
/// partial outputs are summed by g's all-reduce, as in the MLP.
enum ExplainAttentionHeads {
    static func lines(ranks t: Int) throws -> [String] {
        let tokens = 3, d = 2 * t, heads = 2 * t, width = d / heads  // one column per head: integers stay readable
        let x = SmallMatrix.pattern(rows: tokens, cols: d, seed: 11)
        let wq = SmallMatrix.pattern(rows: d, cols: d, seed: 12), wk = SmallMatrix.pattern(rows: d, cols: d, seed: 13)
        let wv = SmallMatrix.pattern(rows: d, cols: d, seed: 14), wo = SmallMatrix.pattern(rows: d, cols: d, seed: 15)
        let attention = SmallAttention.oneRank(x * wq, x * wk, x * wv, heads: heads)
        let expected = attention * wo
        let group = "tp[" + (0..<t).map(String.init).joined(separator: ", ") + "]"
        let perRank = heads / t
        struct Held: Sendable { var q, att, partial, out: SmallMatrix }
        let held = try ExplainRanks.run(t) { g in
            let cols = (g.rank * perRank * width)..<((g.rank + 1) * perRank * width)
            let q = x * wq.columns(cols), k = x * wk.columns(cols), v = x * wv.columns(cols)
            let att = SmallAttention.oneRank(q, k, v, heads: perRank)
            let partial = att * wo.rows(cols)
            return Held(q: q, att: att, partial: partial, out: try g.allReduced(partial))
        }
        var out = ["ATTENTION HEADS: \(heads) heads of width \(width) on \(t) ranks, \(perRank) per rank "
                   + "(tp must divide the heads); X \(tokens)×\(d), causal softmax attention with scale 1"]
        out += x.shown("X")
        out.append("1. f (identity): every rank holds X; rank r holds the columns of Wq, Wk, Wv for heads "
                   + (0..<t).map { r in "\(r * perRank)…\((r + 1) * perRank - 1)" }.joined(separator: " / ")
                   + " and computes its heads' Q, K, V: no communication")
        out += ExplainRanks.show("Q_r (its heads)", held.map(\.q))
        out.append("2. each rank runs attention on its own heads (a head never needs another head's Q, K or V)")
        out += ExplainRanks.show("attention_r", held.map(\.att))
        out.append("3. row-parallel output projection: rank r holds Wo's rows of its heads; attention_r·Wo_r is a partial sum")
        out += ExplainRanks.show("attention_r·Wo_r", held.map(\.partial))
        out.append("4. g (all-reduce on \(group)): every rank holds the layer's output")
        out += ExplainRanks.show("out", held.map(\.out))
        let worst = held.map { SmallAttention.largestDifference($0.out, expected) }.max() ?? 0
        let scale = expected.values.map { abs($0) }.max() ?? 1
        out.append(ExplainRanks.check(String(format: "every rank's output equals attention computed on one rank with all heads "
                                             + "(largest difference %.1e of values up to %.0f: float32 rounding)", Double(worst), Double(scale)),
                                      worst <= 1e-5 * max(scale, 1)))
        out.append("backward mirrors it as in the MLP: g's backward is the identity, f's backward all-reduces dX")
        return out
    }
}
