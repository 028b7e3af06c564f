import TesseraRuntime

/// Data parallelism on 2 or 4 ranks: each rank holds the whole weight and a
/// slice of the batch; the forward (residuals X_r·W − T_r and the loss of
/// its samples) needs no communication; the backward computes the gradient
/// of its samples, and one all-reduce (sum) gives every rank the whole
/// batch's gradient (and of the loss, for the log).
enum ExplainDataParallel {
    static func lines(ranks n: Int) throws -> [String] {
        let batch = 4, d = 3, k = 2
        let x = SmallMatrix.pattern(rows: batch, cols: d, seed: 4), w = SmallMatrix.pattern(rows: d, cols: k, seed: 5)
        let target = SmallMatrix.pattern(rows: batch, cols: k, seed: 6)
        // L = ½‖X·W − T‖², dL/dW = Xᵀ·(X·W − T): a sum over samples.
        let gradient: @Sendable (SmallMatrix, SmallMatrix) -> SmallMatrix = { x, t in x.transposed * (x * w - t) }
        let expected = gradient(x, target)
        let group = "dp[" + (0..<n).map(String.init).joined(separator: ", ") + "]"
        let residual: @Sendable (SmallMatrix, SmallMatrix) -> SmallMatrix = { x, t in x * w - t }
        let loss: @Sendable (SmallMatrix) -> SmallMatrix = { r in SmallMatrix(rows: 1, cols: 1, [r.values.reduce(0) { $0 + $1 * $1 } / 2]) }
        struct Held: Sendable { var x, residual, loss, totalLoss, local, summed: SmallMatrix }
        let held = try ExplainRanks.run(n) { g in
            let mine = g.chunk(g.rank, of: batch)
            let r = residual(x.rows(mine), target.rows(mine)), l = loss(r)
            let local = gradient(x.rows(mine), target.rows(mine))
            return Held(x: x.rows(mine), residual: r, loss: l, totalLoss: try g.allReduced(l), local: local,
                        summed: try g.allReduced(local))
        }
        var out = ["data parallelism (dp), \(n) ranks, group \(group): loss ½‖X·W − T‖² over a batch of \(batch) samples; "
                   + "its gradient Xᵀ·(X·W − T) is a sum over samples"]
        out += w.shown("W (every rank holds all of it)") + x.shown("X") + target.shown("T")
        out.append("FORWARD: rank r holds its \(batch / n) sample(s) of the batch and computes R_r = X_r·W − T_r and "
                   + "its loss ½‖R_r‖², no communication")
        out += ExplainRanks.show("X_r", held.map(\.x)) + ExplainRanks.show("R_r", held.map(\.residual))
        out += ExplainRanks.show("loss_r", held.map(\.loss))
        let stacked = SmallMatrix(rows: batch, cols: k, held.flatMap(\.residual.values))
        out.append(ExplainRanks.check("the ranks' residuals stacked equal X·W − T on one rank, and the all-reduced loss "
                                      + "(for the log) equals one rank's", stacked == x * w - target
                                      && held.allSatisfy { $0.totalLoss == loss(x * w - target) }))
        out.append("BACKWARD: 1. each rank computes the gradient of its samples, dW_r = X_rᵀ·R_r, no communication")
        out += ExplainRanks.show("dW_r", held.map(\.local))
        out.append("2. all-reduce (sum) on \(group), in buckets overlapped with backward in training: every rank holds Σ_r dW_r")
        out += ExplainRanks.show("dW", held.map(\.summed))
        out.append(ExplainRanks.check("every rank's dW equals the whole batch's gradient on one rank",
                                      held.allSatisfy { $0.summed == expected }))
        out.append("Tessera scales the loss by 1/(global batch tokens) first, so the sum is the one-rank mean gradient; "
                   + "every rank then takes the same AdamW step and the replicas stay identical")
        return out
    }
}
