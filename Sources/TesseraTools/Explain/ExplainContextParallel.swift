import Foundation
import TesseraKernels
import TesseraComm
import TesseraModel

/// Context parallelism on 2 or 4 ranks: causal attention over 8 positions
/// with the sequence cut into 2·cp chunks, rank r holding chunks r and
/// 2cp−1−r (equal causal work per rank). Ring mode keeps each rank's
/// queries and passes the K/V blocks around the ring (send/recv, cp−1
/// steps), folding each visible block into an online softmax; Ulysses mode
/// trades the sequence split for a head split with an all-to-all, attends
/// locally and trades back. Both are checked against one rank's attention;
/// ring mode's backward (dK/dV travelling with their blocks) is run live too.
enum ExplainContextParallel {
    static func lines(ranks n: Int) throws -> [String] {
        let seqLen = 8, heads = n, width = 2 * heads
        let q = SmallMatrix.pattern(rows: seqLen, cols: width, seed: 8), k = SmallMatrix.pattern(rows: seqLen, cols: width, seed: 9)
        let v = SmallMatrix.pattern(rows: seqLen, cols: width, seed: 10)
        let expected = SmallAttention.oneRank(q, k, v, heads: heads)
        let positions = (0..<n).map { ContextParallel.chunks(rank: $0, size: n, seqLen: seqLen).flatMap { Array($0) } }
        let group = "cp[" + (0..<n).map(String.init).joined(separator: ", ") + "]"
        var out = ["context parallelism (cp), \(n) ranks, group \(group): causal attention over \(seqLen) positions, "
                   + "\(heads) heads of width 2; scores Q·Kᵀ with scale 1 so they stay integers"]
        out += q.shown("Q") + k.shown("K") + v.shown("V")
        let chunk = seqLen / (2 * n)
        out.append("1. the sequence is cut into 2·cp = \(2 * n) chunks of \(chunk); rank r holds chunks r and \(2 * n - 1)−r "
                   + "(causal load balance: an early chunk has few keys to attend to, a late one many)")
        let work = positions.map { $0.reduce(0) { $0 + $1 + 1 } }
        for r in 0..<n {
            out.append("  rank \(r): chunks \(r) and \(2 * n - 1 - r) = positions \(positions[r].map(String.init).joined(separator: ",")): "
                       + "\(work[r]) causal scores per head")
        }
        out.append(ExplainRanks.check("every rank computes the same number of causal scores (\(work[0]) = T(T+1)/2cp)",
                                      Set(work).count == 1 && work[0] * n == seqLen * (seqLen + 1) / 2))
        out += try ring(q, k, v, heads: heads, positions: positions, group: group, expected: expected)
        out += try ulysses(q, k, v, heads: heads, positions: positions, group: group, expected: expected)
        out += try ExplainRingBackward.lines(q, k, v, heads: heads, positions: positions, group: group)
        out.append("Ulysses' backward runs its two all-to-alls in reverse (dO heads-ward, dQ, dK, dV back sequence-ward)")
        out += expected.shown("attention on one rank")
        return out
    }

    /// The largest difference allowed between a sharded and the one-rank output (float32 rounding of the softmax).
    static let tolerance: Float = 1e-5

    /// "2.4e-07 ≤ 1e-05".
    static func difference(_ d: Float) -> String { String(format: "%.1e ≤ %.0e", Double(d), Double(tolerance)) }

    /// Ring mode, live: each rank's K/V block travels around the ring while the queries stay.
    static func ring(_ q: SmallMatrix, _ k: SmallMatrix, _ v: SmallMatrix, heads: Int, positions: [[Int]],
                     group: String, expected: SmallMatrix) throws -> [String] {
        let n = positions.count, width = q.cols, rowsPerRank = positions[0].count
        struct Step: Sendable { var origin: Int, visible: Int, matches: Bool }
        struct Held: Sendable { var steps: [Step], output: SmallMatrix, sends: Int }
        let held = try ExplainRanks.run(n) { world in
            let g = CountingGroup(world)
            let mine = positions[g.rank]
            var attention = SmallAttention(heads: heads, queries: q.rows(of: mine), positions: mine)
            var block = k.rows(of: mine).values + v.rows(of: mine).values  // [K rows; V rows]
            var steps: [Step] = []
            for s in 0..<n {
                let origin = (g.rank - s + n) % n, at = positions[origin], half = rowsPerRank * width
                let keys = SmallMatrix(rows: rowsPerRank, cols: width, Array(block[..<half]))
                let values = SmallMatrix(rows: rowsPerRank, cols: width, Array(block[half...]))
                let visible = attention.accumulate(keys: keys, values: values, keyPositions: at)
                steps.append(Step(origin: origin, visible: visible, matches: keys == k.rows(of: at) && values == v.rows(of: at)))
                guard s < n - 1 else { break }
                var next = [Float](repeating: 0, count: block.count)
                try block.withUnsafeBufferPointer { b in
                    try next.withUnsafeMutableBufferPointer {
                        try g.sendRecv(b.baseAddress!, count: b.count, to: (g.rank + 1) % n,
                                       into: $0.baseAddress!, from: (g.rank - 1 + n) % n, tag: s)
                    }
                }
                block = next
            }
            return Held(steps: steps, output: attention.output, sends: g.tallies["send"]?.calls ?? 0)
        }
        var out = ["2. ring mode: every rank keeps its Q rows and passes the K/V block it holds to rank r+1 on \(group) "
                   + "(send/recv), receiving rank r−1's; each visible block updates a running max, sum and weighted V"]
        for s in 0..<n {
            out.append("  step \(s): " + (0..<n).map { r in
                let st = held[r].steps[s]
                return "rank \(r) holds K/V of positions \(positions[st.origin].map(String.init).joined(separator: ",")) "
                    + "(\(st.visible) visible)"
            }.joined(separator: "; ") + (s < n - 1 ? "; then each sends it on" : ""))
        }
        out.append(ExplainRanks.check("every block a rank received is the K/V the ring says, and each rank sent cp−1 = \(n - 1)",
                                      held.allSatisfy { $0.steps.allSatisfy(\.matches) && $0.sends == n - 1 }))
        for r in 0..<n { out += held[r].output.shown("  rank \(r) O rows at positions \(positions[r].map(String.init).joined(separator: ","))") }
        let worst = (0..<n).map { SmallAttention.largestDifference(held[$0].output, expected.rows(of: positions[$0])) }.max()!
        out.append(ExplainRanks.check("each rank's rows equal one rank's causal attention at those positions "
                                      + "(largest difference \(difference(worst)))", worst <= tolerance))
        return out
    }

    /// Ulysses mode, live: all-to-all from a sequence split to a head split, local attention, all-to-all back.
    static func ulysses(_ q: SmallMatrix, _ k: SmallMatrix, _ v: SmallMatrix, heads: Int, positions: [[Int]],
                        group: String, expected: SmallMatrix) throws -> [String] {
        let n = positions.count, rowsPerRank = positions[0].count, seqLen = q.rows
        struct Held: Sendable { var headQ: SmallMatrix, output: SmallMatrix, allToAlls: Int }
        let held = try ExplainRanks.run(n) { world in
            let g = CountingGroup(world)
            let mine = positions[g.rank]
            // Sequence → heads, Q, K and V in one all-to-all: head h of my rows goes to rank h; from rank p
            // come my head's rows at p's positions.
            let qkv = [q, k, v]
            let received = try g.allToAlled((0..<n).flatMap { h in
                qkv.flatMap { $0.rows(of: mine).columns((2 * h)..<(2 * h + 2)).values }
            })
            let block = rowsPerRank * 2
            let perHead = (0..<3).map { which in
                var whole = [Float](repeating: 0, count: seqLen * 2)
                for p in 0..<n { for (i, pos) in positions[p].enumerated() { for c in 0..<2 {
                    whole[pos * 2 + c] = received[(3 * p + which) * block + i * 2 + c]
                } } }
                return SmallMatrix(rows: seqLen, cols: 2, whole)
            }
            let headQ = perHead[0], headK = perHead[1], headV = perHead[2]
            let headOut = SmallAttention.oneRank(headQ, headK, headV, heads: 1)
            // Heads → sequence: rank p's rows of my head go back to rank p.
            let back = try g.allToAlled((0..<n).flatMap { headOut.rows(of: positions[$0]).values })
            var rows = [Float](repeating: 0, count: rowsPerRank * 2 * n)
            for h in 0..<n { for i in 0..<rowsPerRank { for c in 0..<2 {
                rows[i * 2 * n + 2 * h + c] = back[(h * rowsPerRank + i) * 2 + c]
            } } }
            return Held(headQ: headQ, output: SmallMatrix(rows: rowsPerRank, cols: 2 * n, rows),
                        allToAlls: g.tallies["allToAll"]?.calls ?? 0)
        }
        var out = ["3. Ulysses mode: one all-to-all on \(group) sends head h of a rank's Q, K and V rows to rank h; "
                   + "rank r then holds every position of head r and attends locally, with no communication"]
        for r in 0..<n { out += held[r].headQ.shown("  rank \(r) Q of head \(r), all positions") }
        out.append("   an all-to-all back returns each rank's rows, all heads (heads must be divisible by cp)")
        let worst = (0..<n).map { SmallAttention.largestDifference(held[$0].output, expected.rows(of: positions[$0])) }.max()!
        out.append(ExplainRanks.check("each rank's rows equal one rank's causal attention (largest difference "
                                      + "\(difference(worst))), after 2 all-to-alls (Q, K, V together; O back)",
                                      worst <= tolerance && held.allSatisfy { $0.allToAlls == 2 }))
        return out
    }
}

extension SmallMatrix {
    /// The rows at `indices`, in that order.
    func rows(of indices: [Int]) -> SmallMatrix {
        SmallMatrix(rows: indices.count, cols: cols, indices.flatMap { values[($0 * cols)..<(($0 + 1) * cols)] })
    }
}

extension ProcessGroup {
    /// Equal all-to-all of floats: block q of `send` goes to rank q; block q of the result came from rank q.
    func allToAlled(_ send: [Float]) throws -> [Float] {
        var out = [Float](repeating: 0, count: send.count)
        try send.withUnsafeBufferPointer { s in
            try out.withUnsafeMutableBufferPointer { try allToAll(s.baseAddress!, count: s.count / size, into: $0.baseAddress!) }
        }
        return out
    }
}
