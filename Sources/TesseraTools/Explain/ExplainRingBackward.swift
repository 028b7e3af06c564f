import Foundation
import TesseraComm

/// The backward of ring attention for `tessera explain cp`, run live: each
/// rank keeps its queries, outputs, output gradients and the softmax's
/// log-sum-exp from the forward; the K/V blocks go round the ring again, and
/// each carries its own gradient accumulators dK and dV with it. At every
/// step a rank adds its queries' share to the block's dK and dV (and to its
/// own dQ); after cp − 1 hops every rank has seen every block, and one more
/// hop takes each dK/dV home. Checked against one rank's backward.
enum ExplainRingBackward {
    /// Attention gradients of queries at `qPositions` against one block of keys at `kPositions` (scale 1, causal):
    /// P = exp(Q·Kᵀ − lse), dV += Pᵀ·dO, dS = P ⊙ (dO·Vᵀ − D), dQ += dS·K, dK += dSᵀ·Q, per head, in double.
    struct Block {
        var dQ: [Double], dK: [Double], dV: [Double]
    }

    static func block(q: SmallMatrix, qPositions: [Int], dO: SmallMatrix, delta: [Double], lse: [Double],
                      k: SmallMatrix, v: SmallMatrix, kPositions: [Int], heads: Int) -> Block {
        let width = q.cols, hw = width / heads
        var g = Block(dQ: Array(repeating: 0, count: q.values.count), dK: Array(repeating: 0, count: k.values.count),
                      dV: Array(repeating: 0, count: v.values.count))
        for i in 0..<q.rows { for j in 0..<k.rows where kPositions[j] <= qPositions[i] { for h in 0..<heads {
            let cols = (h * hw)..<((h + 1) * hw)
            let score = cols.reduce(0.0) { $0 + Double(q[i, $1]) * Double(k[j, $1]) }
            let p = exp(score - lse[i * heads + h])
            let dP = cols.reduce(0.0) { $0 + Double(dO[i, $1]) * Double(v[j, $1]) }
            let dS = p * (dP - delta[i * heads + h])
            for c in cols {
                g.dV[j * width + c] += p * Double(dO[i, c])
                g.dQ[i * width + c] += dS * Double(k[j, c])
                g.dK[j * width + c] += dS * Double(q[i, c])
            }
        } } }
        return g
    }

    /// D = rowsum(dO ⊙ O) per (row, head).
    static func delta(_ dO: SmallMatrix, _ o: SmallMatrix, heads: Int) -> [Double] {
        let hw = o.cols / heads
        return (0..<(o.rows * heads)).map { s in
            let i = s / heads, h = s % heads
            return ((h * hw)..<((h + 1) * hw)).reduce(0.0) { $0 + Double(dO[i, $1]) * Double(o[i, $1]) }
        }
    }

    static func matrix(_ rows: Int, _ cols: Int, _ v: [Double]) -> SmallMatrix { SmallMatrix(rows: rows, cols: cols, v.map { Float($0) }) }

    static func lines(_ q: SmallMatrix, _ k: SmallMatrix, _ v: SmallMatrix, heads: Int, positions: [[Int]],
                      group: String) throws -> [String] {
        let n = positions.count, seqLen = q.rows, width = q.cols, rowsPerRank = positions[0].count
        let dO = SmallMatrix.pattern(rows: seqLen, cols: width, seed: 15)
        // One rank: the whole causal attention's forward (for O and lse) and backward.
        var whole = SmallAttention(heads: heads, queries: q, positions: Array(0..<seqLen))
        whole.accumulate(keys: k, values: v, keyPositions: Array(0..<seqLen))
        let expected = block(q: q, qPositions: Array(0..<seqLen), dO: dO, delta: delta(dO, whole.output, heads: heads),
                             lse: whole.logSumExp, k: k, v: v, kPositions: Array(0..<seqLen), heads: heads)
        struct Step: Sendable { var origin: Int }
        struct Held: Sendable { var steps: [Step], dQ: SmallMatrix, dK: SmallMatrix, dV: SmallMatrix, sends: Int }
        let held = try ExplainRanks.run(n) { world -> Held in
            let g = CountingGroup(world)
            let mine = positions[g.rank], myQ = q.rows(of: mine), myDO = dO.rows(of: mine)
            // Saved by the forward (part 2): this rank's O and the softmax's log-sum-exp per (query, head).
            var forward = SmallAttention(heads: heads, queries: myQ, positions: mine)
            for at in positions { forward.accumulate(keys: k.rows(of: at), values: v.rows(of: at), keyPositions: at) }
            let myDelta = delta(myDO, forward.output, heads: heads), lse = forward.logSumExp
            let half = rowsPerRank * width
            // The travelling block: [K; V; dK; dV] of its origin.
            var travelling = (k.rows(of: mine).values + v.rows(of: mine).values).map(Double.init)
                + Array(repeating: 0, count: 2 * half)
            var dQ = [Double](repeating: 0, count: half), steps: [Step] = []
            for s in 0..<n {
                let origin = (g.rank - s + n) % n
                steps.append(Step(origin: origin))
                let keys = matrix(rowsPerRank, width, Array(travelling[0..<half]))
                let values = matrix(rowsPerRank, width, Array(travelling[half..<(2 * half)]))
                let c = block(q: myQ, qPositions: mine, dO: myDO, delta: myDelta, lse: lse, k: keys, v: values,
                              kPositions: positions[origin], heads: heads)
                for e in 0..<half {
                    dQ[e] += c.dQ[e]; travelling[2 * half + e] += c.dK[e]; travelling[3 * half + e] += c.dV[e]
                }
                // Pass the block with its accumulators on; after the last step only dK and dV travel, home.
                let payload = s < n - 1 ? travelling : Array(travelling[(2 * half)...])
                travelling = try g.ringShifted(payload, step: s)
            }
            // After the homecoming hop `travelling` is this rank's own dK and dV.
            return Held(steps: steps, dQ: matrix(rowsPerRank, width, dQ), dK: matrix(rowsPerRank, width, Array(travelling[0..<half])),
                        dV: matrix(rowsPerRank, width, Array(travelling[half...])), sends: g.tallies["send"]?.calls ?? 0)
        }
        var out = ["BACKWARD (ring mode), given dO = ∂L/∂O: each rank keeps Q, O, dO and the forward's log-sum-exp of its rows; "
                   + "the K/V blocks go round \(group) again, each carrying its own dK and dV accumulators"]
        out += dO.shown("dO")
        for s in 0..<n {
            out.append("  step \(s): " + (0..<n).map { r in
                "rank \(r) adds its queries' share to dK, dV of positions \(positions[held[r].steps[s].origin].map(String.init).joined(separator: ","))"
            }.joined(separator: "; ") + (s < n - 1 ? "; then each sends K, V, dK, dV on" : "; then each sends dK, dV home (one more hop)"))
        }
        out.append(ExplainRanks.check("each rank sent cp = \(n) times (cp − 1 hops of K, V, dK, dV and one of dK, dV home); "
                                      + "the forward's ring sent cp − 1 = \(n - 1): 2cp − 1 per layer",
                                      held.allSatisfy { $0.sends == n }))
        var worst: Float = 0
        for r in 0..<n {
            let at = positions[r]
            out += held[r].dK.shown("  rank \(r) dK rows at positions \(at.map(String.init).joined(separator: ","))")
            for (got, want) in [(held[r].dQ, expected.dQ), (held[r].dK, expected.dK), (held[r].dV, expected.dV)] {
                worst = max(worst, SmallAttention.largestDifference(got, matrix(seqLen, width, want).rows(of: at)))
            }
        }
        out.append(ExplainRanks.check("each rank's dQ, dK and dV rows equal one rank's attention backward "
                                      + "(largest difference \(ExplainContextParallel.difference(worst)))",
                                      worst <= ExplainContextParallel.tolerance))
        return out
    }
}

extension ProcessGroup {
    /// Sends `payload` to rank r+1 of the ring and returns what rank r−1 sent (the same length).
    func ringShifted(_ payload: [Double], step: Int) throws -> [Double] {
        let send = payload.map { Float($0) }
        var next = [Float](repeating: 0, count: send.count)
        try send.withUnsafeBufferPointer { b in
            try next.withUnsafeMutableBufferPointer {
                try sendRecv(b.baseAddress!, count: b.count, to: (rank + 1) % size, into: $0.baseAddress!,
                             from: (rank - 1 + size) % size, tag: 100 + step)
            }
        }
        return next.map(Double.init)
    }
}
