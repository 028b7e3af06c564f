import TesseraModel

/// Megatron's MLP on 2 or 4 ranks, forward and backward: Y = relu(X·A)·B
/// with A split by columns (column-parallel) and B by rows (row-parallel), so
/// each rank's product is a partial sum that one all-reduce completes. The
/// region is entered through f (identity forward, all-reduce backward) and
/// left through g (all-reduce forward, identity backward), the seeds' names.
/// With sequence parallelism X and Y are split by rows outside the region:
/// g becomes an all-gather forward / reduce-scatter backward and ḡ a
/// reduce-scatter forward / all-gather backward (Korthikanti et al.). `tp`
/// also splits an attention layer by heads (`ExplainAttentionHeads`).
enum ExplainTensorParallel {
    static func lines(ranks t: Int, sequenceParallel sp: Bool) throws -> [String] {
        let rowsX = 4, d = 4, hidden = 2 * t
        let x = SmallMatrix.pattern(rows: rowsX, cols: d, seed: 1)
        let a = SmallMatrix.pattern(rows: d, cols: hidden, seed: 2), b = SmallMatrix.pattern(rows: hidden, cols: d, seed: 3)
        let dY = SmallMatrix.pattern(rows: rowsX, cols: d, seed: 9)
        // One rank, forward and backward.
        let pre = x * a, h = pre.relu, expected = h * b
        let dB = h.transposed * dY, dH = (dY * b.transposed).masked(by: pre), dA = x.transposed * dH, dX = dH * a.transposed
        let group = "tp[" + (0..<t).map(String.init).joined(separator: ", ") + "]"
        struct Held: Sendable { var xIn, xFull, aPart, bPart, h, partial, out, dYIn, dYFull, dB, dH, dA, dXPartial, dX: SmallMatrix }
        let held = try ExplainRanks.run(t) { g in
            let xIn = sp ? x.rows(g.chunk(g.rank, of: rowsX)) : x
            let xFull = sp ? try g.allGatheredRows(xIn) : xIn
            let cols = (2 * g.rank)..<(2 * g.rank + 2)
            let aPart = a.columns(cols), bPart = b.rows(cols)
            let pre = xFull * aPart, h = pre.relu
            let partial = h * bPart
            let out = sp ? try g.reduceScatteredRows(partial) : try g.allReduced(partial)
            // Backward: the exit's conjugate first, then the local gradients, then the entry's conjugate.
            let dYIn = sp ? dY.rows(g.chunk(g.rank, of: rowsX)) : dY
            let dYFull = sp ? try g.allGatheredRows(dYIn) : dYIn
            let dBr = h.transposed * dYFull, dHr = (dYFull * bPart.transposed).masked(by: pre)
            let dAr = xFull.transposed * dHr, dXPartial = dHr * aPart.transposed
            let dXr = sp ? try g.reduceScatteredRows(dXPartial) : try g.allReduced(dXPartial)
            return Held(xIn: xIn, xFull: xFull, aPart: aPart, bPart: bPart, h: h, partial: partial, out: out,
                        dYIn: dYIn, dYFull: dYFull, dB: dBr, dH: dHr, dA: dAr, dXPartial: dXPartial, dX: dXr)
        }
        var out = [sp ? "sequence parallelism (SP, Megatron's sequence parallelism) inside tensor parallelism (tp), \(t) ranks, group \(group)"
                      : "tensor parallelism (tp, Megatron-LM's), \(t) ranks, group \(group)"]
        out.append("the MLP (multi-layer perceptron, the block's feed-forward): Y = relu(X·A)·B, X \(rowsX)×\(d) (\(rowsX) tokens), "
                   + "A \(d)×\(hidden), B \(hidden)×\(d)")
        out.append(sp ? "operators (Korthikanti et al.): g = all-gather forward / reduce-scatter backward at the region's entry; "
                        + "ḡ = reduce-scatter forward / all-gather backward at its exit"
                      : "operators (Megatron-LM's): f = identity forward / all-reduce backward at the region's entry; "
                        + "g = all-reduce forward / identity backward at its exit")
        out += x.shown("X") + a.shown("A") + b.shown("B")
        out.append("FORWARD")
        if sp {
            out.append("1. each rank holds its \(rowsX / t) rows of X (a sequence chunk: LayerNorm, dropout, residual run here)")
            out += ExplainRanks.show("X rows", held.map(\.xIn))
            out.append("2. g (all-gather on \(group)): every rank now holds the whole X")
            out += ExplainRanks.show("X", held.map(\.xFull))
        } else {
            out.append("1. f (identity): every rank holds the whole X")
        }
        out.append("\(sp ? 3 : 2). column-parallel A: rank r holds columns 2r..2r+1 and computes H_r = relu(X·A_r), no communication")
        out += ExplainRanks.show("A_r", held.map(\.aPart)) + ExplainRanks.show("H_r", held.map(\.h))
        out.append("\(sp ? 4 : 3). row-parallel B: rank r holds rows 2r..2r+1 of B; H_r·B_r is a partial sum of Y")
        out += ExplainRanks.show("B_r", held.map(\.bPart)) + ExplainRanks.show("H_r·B_r", held.map(\.partial))
        if sp {
            out.append("5. ḡ (reduce-scatter on \(group)): rank r receives its rows of Σ_r H_r·B_r")
            out += ExplainRanks.show("Y rows", held.map(\.out))
            let joined = SmallMatrix(rows: rowsX, cols: d, held.flatMap(\.out.values))
            out.append(ExplainRanks.check("the ranks' rows stacked equal relu(X·A)·B computed on one rank", joined == expected))
        } else {
            out.append("4. g (all-reduce, sum, on \(group)): every rank holds Y = Σ_r H_r·B_r")
            out += ExplainRanks.show("Y", held.map(\.out))
            out.append(ExplainRanks.check("every rank's Y equals relu(X·A)·B computed on one rank",
                                          held.allSatisfy { $0.out == expected }))
        }
        out.append("BACKWARD (the same operators, conjugate: each one's backward is the other collective), given dY = ∂L/∂Y")
        out += dY.shown("dY")
        if sp {
            out.append("1. ḡ backward (all-gather on \(group)): rank r holds its rows of dY, the gather gives every rank all of it")
            out += ExplainRanks.show("dY rows", held.map(\.dYIn))
        } else {
            out.append("1. g backward (identity): every rank already holds the whole dY")
        }
        out.append("2. local gradients, no communication: dB_r = H_rᵀ·dY (B's rows 2r..2r+1), "
                   + "dH_r = (dY·B_rᵀ) ⊙ [X·A_r > 0], dA_r = Xᵀ·dH_r (A's columns 2r..2r+1)")
        out += ExplainRanks.show("dB_r", held.map(\.dB)) + ExplainRanks.show("dA_r", held.map(\.dA))
        out.append(ExplainRanks.check("each rank's dA_r and dB_r are its slices of the one-rank dA and dB",
                                      (0..<t).allSatisfy { r in held[r].dA == dA.columns((2 * r)..<(2 * r + 2))
                                          && held[r].dB == dB.rows((2 * r)..<(2 * r + 2)) }))
        out.append("3. dX_r = dH_r·A_rᵀ is a partial sum of dX")
        out += ExplainRanks.show("dH_r·A_rᵀ", held.map(\.dXPartial))
        if sp {
            out.append("4. g backward (reduce-scatter on \(group)): rank r receives its rows of dX")
            out += ExplainRanks.show("dX rows", held.map(\.dX))
            let joined = SmallMatrix(rows: rowsX, cols: d, held.flatMap(\.dX.values))
            out.append(ExplainRanks.check("the ranks' dX rows stacked equal dX computed on one rank", joined == dX))
            out.append("memory outside the region per rank: tp alone holds X and Y whole (\(2 * rowsX * d) values); "
                       + "tp+sp holds \(2 * rowsX * d / t) (\(100 / t)%); the traffic is the same: all-reduce = reduce-scatter + all-gather")
        } else {
            out.append("4. f backward (all-reduce on \(group)): every rank holds dX = Σ_r dH_r·A_rᵀ")
            out += ExplainRanks.show("dX", held.map(\.dX))
            out.append(ExplainRanks.check("every rank's dX equals dX computed on one rank", held.allSatisfy { $0.dX == dX }))
            out.append("per block: 2 all-reduces forward (g after attention and after the MLP), 2 backward (f before each)")
        }
        out += expected.shown("relu(X·A)·B on one rank") + dX.shown("dX on one rank")
        if !sp { out += try ExplainAttentionHeads.lines(ranks: t) }
        return out
    }
}

extension SmallMatrix {
    /// self where `pre` > 0, else 0: the gradient through relu(pre).
    func masked(by pre: SmallMatrix) -> SmallMatrix {
        SmallMatrix(rows: rows, cols: cols, zip(values, pre.values).map { $1 > 0 ? $0 : 0 })
    }
}
