import TesseraRuntime

/// Data parallelism on 2 or 4 ranks: each rank holds the whole weight and a
/// slice of the batch, computes the gradient of its samples, and one
/// all-reduce (sum) gives every rank the whole batch's gradient.
enum ExplainDataParallel {
    static func lines(ranks n: Int) throws -> [String] {
        let batch = 4, d = 3, k = 2
        let x = SmallMatrix.pattern(rows: batch, cols: d, seed: 4), w = SmallMatrix.pattern(rows: d, cols: k, seed: 5)
        let target = SmallMatrix.pattern(rows: batch, cols: k, seed: 6)
        // L = ½‖X·W − T‖², dL/dW = Xᵀ·(X·W − T): a sum over samples.
        let gradient: @Sendable (SmallMatrix, SmallMatrix) -> SmallMatrix = { x, t in x.transposed * (x * w - t) }
        let expected = gradient(x, target)
        let group = "dp[" + (0..<n).map(String.init).joined(separator: ", ") + "]"
        struct Held: Sendable { var x, local, summed: SmallMatrix }
        let held = try ExplainRanks.run(n) { g in
            let mine = g.chunk(g.rank, of: batch)
            let local = gradient(x.rows(mine), target.rows(mine))
            return Held(x: x.rows(mine), local: local, summed: try g.allReduced(local))
        }
        var out = ["data parallelism (dp), \(n) ranks, group \(group): loss ½‖X·W − T‖² over a batch of \(batch) samples; "
                   + "its gradient Xᵀ·(X·W − T) is a sum over samples"]
        out += w.shown("W (every rank holds all of it)") + x.shown("X") + target.shown("T")
        out.append("1. rank r holds its \(batch / n) sample(s) of the batch")
        out += ExplainRanks.show("X_r", held.map(\.x))
        out.append("2. each rank computes the gradient of its samples, no communication")
        out += ExplainRanks.show("dW_r", held.map(\.local))
        out.append("3. all-reduce (sum) on \(group), in buckets overlapped with backward in training: every rank holds Σ_r dW_r")
        out += ExplainRanks.show("dW", held.map(\.summed))
        out.append(ExplainRanks.check("every rank's dW equals the whole batch's gradient on one rank",
                                      held.allSatisfy { $0.summed == expected }))
        out.append("Tessera scales the loss by 1/(global batch tokens) first, so the sum is the one-rank mean gradient; "
                   + "every rank then takes the same AdamW step and the replicas stay identical")
        return out
    }
}
