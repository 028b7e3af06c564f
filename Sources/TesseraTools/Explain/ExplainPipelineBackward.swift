import TesseraComm

/// The backward half of `tessera explain pp`, run live: the loss of
/// micro-batch mb is Σ y ⊙ G_mb, so its output gradient is G_mb; the last
/// stage starts from it, and each stage s takes the gradient of its output,
/// masks it by relu's derivative, adds hᵀ·dPre to its weight gradient
/// (accumulated over the micro-batches) and sends dPre·W_sᵀ, the gradient
/// of its input, to stage s−1 — the forward's sends in reverse. Checked
/// against the same backward on one rank.
enum ExplainPipelineBackward {
    /// What one stage did in the backward.
    struct Held: Sendable {
        /// Per micro-batch: the output gradient received (or G_mb on the last stage) and the input gradient sent on.
        var received: [SmallMatrix], sent: [SmallMatrix]
        /// dW_s summed over the micro-batches.
        var weightGradient: SmallMatrix
    }

    static func lines(weights: [SmallMatrix], inputs: [SmallMatrix], group: String) throws -> [String] {
        let p = weights.count, d = weights[0].cols
        let seeds = inputs.indices.map { SmallMatrix.pattern(rows: 1, cols: d, seed: 40 + $0) }
        // One rank: each micro-batch forward through every stage, then backward from G_mb.
        var expectedDW = weights.map { SmallMatrix(rows: $0.rows, cols: $0.cols, Array(repeating: 0, count: $0.values.count)) }
        var expectedDX: [SmallMatrix] = []
        for (x, g) in zip(inputs, seeds) {
            var hs: [SmallMatrix] = [], pres: [SmallMatrix] = []
            var h = x
            for w in weights { hs.append(h); let pre = h * w; pres.append(pre); h = pre.relu }
            var dy = g
            for s in stride(from: p - 1, through: 0, by: -1) {
                let dPre = dy.masked(by: pres[s])
                expectedDW[s] = expectedDW[s] + hs[s].transposed * dPre
                dy = dPre * weights[s].transposed
            }
            expectedDX.append(dy)
        }
        let held = try ExplainRanks.run(p) { g -> Held in
            let w = weights[g.rank]
            // This stage's forward again, keeping its input and pre-activation per micro-batch.
            var ins: [SmallMatrix] = [], pres: [SmallMatrix] = []
            for (mb, x) in inputs.enumerated() {
                let h = g.rank == 0 ? x : try g.receivedRow(cols: d, from: g.rank - 1, tag: mb)
                let pre = h * w
                ins.append(h); pres.append(pre)
                if g.rank < p - 1 { try g.sendRow(pre.relu, to: g.rank + 1, tag: mb) }
            }
            var received: [SmallMatrix] = [], sent: [SmallMatrix] = []
            var dW = SmallMatrix(rows: w.rows, cols: w.cols, Array(repeating: 0, count: w.values.count))
            for mb in inputs.indices {
                let tag = 1000 + mb
                let dy = g.rank == p - 1 ? seeds[mb] : try g.receivedRow(cols: d, from: g.rank + 1, tag: tag)
                let dPre = dy.masked(by: pres[mb])
                dW = dW + ins[mb].transposed * dPre
                let dh = dPre * w.transposed
                if g.rank > 0 { try g.sendRow(dh, to: g.rank - 1, tag: tag) }
                received.append(dy); sent.append(dh)
            }
            return Held(received: received, sent: sent, weightGradient: dW)
        }
        var out = ["BACKWARD: loss Σ_mb y_mb ⊙ G_mb, so the last stage starts from dy = G_mb; stage s masks the gradient by "
                   + "relu's derivative (dPre = dy ⊙ [h·W_s > 0]), adds hᵀ·dPre to dW_s and sends dh = dPre·W_sᵀ to stage s−1 on \(group)"]
        for (mb, g) in seeds.enumerated() { out += g.shown("G_\(mb)") }
        for r in stride(from: p - 1, through: 0, by: -1) {
            out.append("  rank \(r) " + (r == p - 1 ? "dy = G" : "recv dy from rank \(r + 1)") + ": "
                       + held[r].received.map { $0.lines[0] }.joined(separator: " ") + "  → "
                       + (r == 0 ? "dX " : "send dh to rank \(r - 1) ") + held[r].sent.map { $0.lines[0] }.joined(separator: " "))
        }
        out.append("each stage's weight gradient, summed over the \(inputs.count) micro-batches (accumulated until the step):")
        out += ExplainRanks.show("dW_s", held.map(\.weightGradient))
        out.append(ExplainRanks.check("every stage's dW_s equals one rank's, and stage 0's dX equals one rank's",
                                      (0..<p).allSatisfy { held[$0].weightGradient == expectedDW[$0] }
                                      && held[0].sent == expectedDX))
        out.append("in the schedule above each B is this step for one micro-batch: a stage can run it only after the "
                   + "next stage's B of that micro-batch has sent dh back, which is why backwards run last stage first")
        return out
    }
}

extension SmallMatrix {
    /// Elementwise sum.
    static func + (a: SmallMatrix, b: SmallMatrix) -> SmallMatrix {
        SmallMatrix(rows: a.rows, cols: a.cols, zip(a.values, b.values).map { $0 + $1 })
    }
}

extension ProcessGroup {
    /// Sends one small matrix's values to `peer`.
    func sendRow(_ m: SmallMatrix, to peer: Int, tag: Int) throws {
        try m.values.withUnsafeBufferPointer { try send($0.baseAddress!, count: m.values.count, to: peer, tag: tag) }
    }
    /// Receives one row of `cols` values from `peer`.
    func receivedRow(cols: Int, from peer: Int, tag: Int) throws -> SmallMatrix {
        var buf = [Float](repeating: 0, count: cols)
        try buf.withUnsafeMutableBufferPointer { try recv($0.baseAddress!, count: cols, from: peer, tag: tag) }
        return SmallMatrix(rows: 1, cols: cols, buf)
    }
}
