import TesseraComm
import TesseraTopology
import TesseraCost
import TesseraRuntime

/// ZeRO stages 1, 2 and 3 on 2 or 4 data-parallel ranks, each run live
/// beside plain data parallelism: a linear model's 8 parameters, a toy
/// optimizer with one state per parameter (momentum: m ← ½·m + g,
/// W ← W − m), what each rank holds of weights, gradients and optimizer
/// state, the reduce-scatter of gradients, the update of each rank's shard
/// and the all-gather of weights (before the forward at stage 3), the
/// memory per rank against plain DP, and the check that every stage takes
/// plain DP's step.
enum ExplainZeRO {
    /// What one rank holds through one step at one stage.
    struct Held: Sendable {
        var weightsBefore: SmallMatrix, gradients: SmallMatrix, momentum: SmallMatrix, weightsAfter: SmallMatrix
        /// The whole updated weights as the next forward sees them (gathered at stage 3).
        var nextForward: SmallMatrix
        /// The backward's gradient of the layer's input, dX_r = R_r·Wᵀ (what a layer below would need), and the
        /// all-gathers of W this rank ran in the step (stage 3: one before the forward, one before the backward).
        var inputGradient: SmallMatrix, weightGathers: Int
    }

    static func lines(ranks n: Int) throws -> [String] {
        let batch = 4, d = 4, k = 2, count = d * k
        // Drawn as one row and reshaped: the pattern repeats every two rows of a two-column matrix.
        let x = SmallMatrix.pattern(rows: batch, cols: d, seed: 11)
        let target = SmallMatrix(rows: batch, cols: k, SmallMatrix.pattern(rows: 1, cols: batch * k, seed: 12).values)
        let w = SmallMatrix(rows: d, cols: k, SmallMatrix.pattern(rows: 1, cols: count, seed: 13).values)
        let m0 = SmallMatrix(rows: 1, cols: count, SmallMatrix.pattern(rows: 1, cols: count, seed: 14).values.map { 2 * $0 })
        let group = "dp[" + (0..<n).map(String.init).joined(separator: ", ") + "]"
        // One rank: dL/dW = Xᵀ·(X·W − T) over the whole batch, then the optimizer step on all 8 parameters.
        let g = x.transposed * (x * w - target)
        let m = SmallMatrix(rows: 1, cols: count, zip(m0.values, g.values).map { 0.5 * $0 + $1 })
        let expected = SmallMatrix(rows: d, cols: k, zip(w.values, m.values).map { $0 - $1 })
        var out = ["ZeRO (Zero Redundancy Optimizer: shards optimizer state, then gradients, then weights), \(n) data-parallel ranks, group \(group): loss ½‖X·W − T‖², W \(d)×\(k) = \(count) parameters "
                   + "(flattened in rows), optimizer state m (momentum: m ← ½·m + g, W ← W − m)"]
        out += w.shown("W") + x.shown("X") + target.shown("T") + m0.shown("m before the step")
        out.append("each rank holds \(batch / n) sample(s); parameter shard r is elements \(count / n)·r ..< \(count / n)·(r+1)")
        var memory: [String] = []
        for stage in 0...3 {
            let held = try ExplainRanks.run(n) { try step(CountingGroup($0), stage: stage, x: x, target: target, w: w, m0: m0) }
            out += describe(stage, held, group: group)
            out.append(ExplainRanks.check(stage == 0 ? "every rank's W equals one rank's step"
                                                     : "every rank's next forward sees the W of plain DP's step",
                                          held.allSatisfy { $0.nextForward == expected }))
            let stacked = SmallMatrix(rows: batch, cols: d, held.flatMap(\.inputGradient.values))
            out.append(ExplainRanks.check("the ranks' dX rows stacked equal (X·W − T)·Wᵀ on one rank"
                                          + (stage == 3 ? ", after 2 all-gathers of W per rank (forward, backward) and one reduce-scatter" : ""),
                                          stacked == (x * w - target) * w.transposed
                                          && held.allSatisfy { $0.weightGathers == (stage == 3 ? 2 : stage == 0 ? 0 : 1) }))
            let values = [held[0].weightsBefore, held[0].gradients, held[0].momentum].map { $0.values.count }
            memory.append("  stage \(stage): W \(values[0]) + g \(values[1]) + m \(values[2]) = \(values.reduce(0, +)) values"
                          + (stage == 0 ? "" : " (\(100 * values.reduce(0, +) / (3 * count))% of DP)")
                          + "; AdamW in float32: \(bytesPerParameter(stage: stage, ranks: n)) bytes per parameter")
        }
        out.append("memory per rank (this model; and Tessera's float32 AdamW, weights 4 + gradients 4 + moments 8 bytes):")
        out += memory
        out.append("traffic per step: all-reduce = reduce-scatter + all-gather, so stages 1 and 2 move what DP moves; "
                   + "stage 3 gathers the weights again before the backward (1.5× DP)")
        out += expected.shown("W after one step on one rank")
        return out
    }

    /// Bytes per parameter a rank holds at `stage` over `ranks` (ZeRO's formula, `ZeROMemory`), as text.
    static func bytesPerParameter(stage: Int, ranks: Int) -> String {
        let b = ZeROMemory.modelStates(parameters: 1, ranks: Double(ranks), stage: stage, gathered: 0)
        let total = b.weights + b.gradients + b.adam
        return total == total.rounded() ? String(Int(total)) : String(total)
    }

    /// One rank's step at `stage` (0: plain DP) with the real collectives on `g`.
    static func step(_ g: CountingGroup, stage: Int, x: SmallMatrix, target: SmallMatrix, w: SmallMatrix,
                     m0: SmallMatrix) throws -> Held {
        let count = w.values.count, shard = g.chunk(g.rank, of: count)
        let flat = SmallMatrix(rows: 1, cols: count, w.values)
        let myWeights = stage == 3 ? flat.columns(shard) : flat
        // Stage 3 holds only its shard: the forward all-gathers the whole W first and frees it after use.
        let whole = stage == 3 ? try g.allGatheredRows(myWeights.transposed).transposed : myWeights
        let mine = g.chunk(g.rank, of: x.rows)
        let residual = x.rows(mine) * SmallMatrix(rows: w.rows, cols: w.cols, whole.values) - target.rows(mine)
        let local = x.rows(mine).transposed * residual
        // The backward needs W again for the input's gradient: stage 3 gathers it a second time.
        let wholeAgain = stage == 3 ? try g.allGatheredRows(myWeights.transposed).transposed : myWeights
        let inputGradient = residual * SmallMatrix(rows: w.rows, cols: w.cols, wholeAgain.values).transposed
        let localFlat = SmallMatrix(rows: 1, cols: count, local.values)
        if stage == 0 {
            let summed = try g.allReduced(localFlat)
            let m = SmallMatrix(rows: 1, cols: count, zip(m0.values, summed.values).map { 0.5 * $0 + $1 })
            let updated = SmallMatrix(rows: 1, cols: count, zip(flat.values, m.values).map { $0 - $1 })
            return Held(weightsBefore: flat, gradients: summed, momentum: m, weightsAfter: updated,
                        nextForward: SmallMatrix(rows: w.rows, cols: w.cols, updated.values), inputGradient: inputGradient,
                        weightGathers: g.tallies["allGather"]?.calls ?? 0)
        }
        // Reduce-scatter: rank r receives the sum of shard r of every rank's gradient.
        let gradShard = try g.reduceScatteredRows(localFlat.transposed).transposed
        let m = SmallMatrix(rows: 1, cols: shard.count, zip(m0.columns(shard).values, gradShard.values).map { 0.5 * $0 + $1 })
        let updatedShard = SmallMatrix(rows: 1, cols: shard.count, zip(flat.columns(shard).values, m.values).map { $0 - $1 })
        // Stages 1 and 2 all-gather the updated shards now; stage 3 keeps its shard until the next forward gathers it.
        let gathered = try g.allGatheredRows(updatedShard.transposed).transposed
        // Stage 1 reduce-scatters in place: the whole buffer stays, shard r now holds the sum.
        var buffer = localFlat.values
        buffer.replaceSubrange(shard, with: gradShard.values)
        return Held(weightsBefore: myWeights, gradients: stage == 1 ? SmallMatrix(rows: 1, cols: count, buffer) : gradShard,
                    momentum: m,
                    weightsAfter: stage == 3 ? updatedShard : gathered,
                    nextForward: SmallMatrix(rows: w.rows, cols: w.cols, gathered.values), inputGradient: inputGradient,
                    // Stage 3's gather after the update stands for the next step's forward gather.
                    weightGathers: (g.tallies["allGather"]?.calls ?? 0) - (stage == 3 ? 1 : 0))
    }

    /// The lines of one stage: what each rank holds before, after the sync and after the update.
    static func describe(_ stage: Int, _ held: [Held], group: String) -> [String] {
        var out: [String]
        switch stage {
        case 0:
            out = ["plain DP: every rank holds all of W, g and m; forward R = X_r·W − T_r, backward g_r = X_rᵀ·R and "
                   + "dX_r = R·Wᵀ; all-reduce (sum) of g on \(group), every rank updates all of W"]
        case 1:
            out = ["stage 1: the optimizer state is sharded; g is reduce-scattered on \(group) (in place: the buffer stays "
                   + "whole, rank r uses its shard), rank r updates its shard of W, and an all-gather on \(group) rebuilds W"]
        case 2:
            out = ["stage 2: the gradients are sharded too; after the reduce-scatter on \(group) rank r keeps only its "
                   + "shard of g; update and all-gather as in stage 1"]
        default:
            out = ["stage 3: the weights are sharded too; W is all-gathered on \(group) before the forward and again "
                   + "before the backward (dX = R·Wᵀ needs it), freed after each use; reduce-scatter of g, update of the "
                   + "shard, no all-gather after the step (the next forward gathers)"]
        }
        out += ExplainRanks.show("W held", held.map(\.weightsBefore))
        out += ExplainRanks.show(stage == 0 ? "g after all-reduce" : stage == 1 ? "g buffer (shard r reduced)" : "g shard",
                                 held.map(\.gradients))
        out += ExplainRanks.show(stage == 0 ? "m" : "m shard", held.map(\.momentum))
        out += ExplainRanks.show(stage == 3 ? "W shard after the step" : "W after the step", held.map(\.weightsAfter))
        return out
    }
}
