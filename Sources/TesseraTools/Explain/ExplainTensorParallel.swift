import TesseraModel

/// Megatron's MLP on 2 or 4 ranks: Y = relu(X·A)·B with A split by columns
/// (column-parallel) and B by rows (row-parallel), so each rank's product is
/// a partial sum that one all-reduce completes (tp); with sequence
/// parallelism X and Y are split by rows outside the region, the all-reduce
/// becomes an all-gather before and a reduce-scatter after, and each rank
/// holds 1/t of the activations there (sp).
enum ExplainTensorParallel {
    static func lines(ranks t: Int, sequenceParallel sp: Bool) throws -> [String] {
        let rowsX = 4, d = 4, hidden = 2 * t
        let x = SmallMatrix.pattern(rows: rowsX, cols: d, seed: 1)
        let a = SmallMatrix.pattern(rows: d, cols: hidden, seed: 2), b = SmallMatrix.pattern(rows: hidden, cols: d, seed: 3)
        let expected = (x * a).relu * b
        let group = "tp[" + (0..<t).map(String.init).joined(separator: ", ") + "]"
        struct Held: Sendable { var xIn, xFull, aPart, bPart, h, partial, out: SmallMatrix }
        let held = try ExplainRanks.run(t) { g in
            let xIn = sp ? x.rows(g.chunk(g.rank, of: rowsX)) : x
            let xFull = sp ? try g.allGatheredRows(xIn) : xIn
            let cols = (2 * g.rank)..<(2 * g.rank + 2)
            let aPart = a.columns(cols), bPart = b.rows(cols)
            let h = (xFull * aPart).relu
            let partial = h * bPart
            let out = sp ? try g.reduceScatteredRows(partial) : try g.allReduced(partial)
            return Held(xIn: xIn, xFull: xFull, aPart: aPart, bPart: bPart, h: h, partial: partial, out: out)
        }
        var out = ["\(sp ? "sequence parallelism (Megatron SP) inside tensor parallelism" : "tensor parallelism (Megatron)"), "
                   + "\(t) ranks, group \(group): Y = relu(X·A)·B, X \(rowsX)×\(d) (\(rowsX) tokens), A \(d)×\(hidden), B \(hidden)×\(d)"]
        out += x.shown("X") + a.shown("A") + b.shown("B")
        if sp {
            out.append("1. each rank holds its \(rowsX / t) rows of X (a sequence chunk: LayerNorm, dropout, residual run here)")
            out += ExplainRanks.show("X rows", held.map(\.xIn))
            out.append("2. all-gather on \(group): every rank now holds the whole X")
            out += ExplainRanks.show("X", held.map(\.xFull))
        } else {
            out.append("1. every rank holds the whole X (replicated: the identity of the region's entry)")
        }
        out.append("\(sp ? 3 : 2). column-parallel A: rank r holds columns \(2)r..\(2)r+1 and computes H_r = relu(X·A_r), no communication")
        out += ExplainRanks.show("A_r", held.map(\.aPart)) + ExplainRanks.show("H_r", held.map(\.h))
        out.append("\(sp ? 4 : 3). row-parallel B: rank r holds rows 2r..2r+1 of B; H_r·B_r is a partial sum of Y")
        out += ExplainRanks.show("B_r", held.map(\.bPart)) + ExplainRanks.show("H_r·B_r", held.map(\.partial))
        if sp {
            out.append("5. reduce-scatter on \(group): rank r receives its rows of Σ_r H_r·B_r")
            out += ExplainRanks.show("Y rows", held.map(\.out))
            let joined = SmallMatrix(rows: rowsX, cols: d, held.flatMap(\.out.values))
            out.append(ExplainRanks.check("the ranks' rows stacked equal relu(X·A)·B computed on one rank", joined == expected))
            out.append("memory outside the region per rank: tp alone holds X and Y whole (\(2 * rowsX * d) values); "
                       + "tp+sp holds \(2 * rowsX * d / t) (\(100 / t)%); the traffic is the same: all-reduce = reduce-scatter + all-gather")
        } else {
            out.append("4. all-reduce (sum) on \(group): every rank holds Y = Σ_r H_r·B_r")
            out += ExplainRanks.show("Y", held.map(\.out))
            out.append(ExplainRanks.check("every rank's Y equals relu(X·A)·B computed on one rank",
                                          held.allSatisfy { $0.out == expected }))
            out.append("backward mirrors it: the identity becomes an all-reduce of dX, the all-reduce an identity "
                       + "(2 all-reduces per block forward, 2 backward: attention and MLP)")
        }
        out += expected.shown("relu(X·A)·B on one rank")
        return out
    }
}
