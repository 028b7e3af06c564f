import TesseraComm

/// The backward of `tessera explain ep`, run live: each token's output
/// gradient dY travels the forward's route — sorted by expert, the same
/// variable all-to-all to the expert's rank — where the expert adds Xᵀ·dY to
/// its weight gradient (X: the tokens it received in the forward) and
/// computes dX = dY·Wᵀ, and the reverse all-to-all brings dX back to the
/// token's rank, put back in token order. The top-1 gate renormalised to 1 is
/// constant, so the router gets no gradient here. Checked against one rank
/// holding every expert.
enum ExplainExpertBackward {
    struct Held: Sendable {
        var dY: SmallMatrix, dX: SmallMatrix
        /// Per local expert: its weight gradient.
        var weightGradients: [SmallMatrix]
        /// Rows this rank sent in the gradient's dispatch and received in its return.
        var sentRows: Int, returnedRows: Int
    }

    static func lines(x: SmallMatrix, router: SmallMatrix, weights: [SmallMatrix], group: String) throws -> [String] {
        let n = weights.count / ExplainExpertParallel.localExperts, d = x.cols
        let dY = SmallMatrix(rows: x.rows, cols: d, SmallMatrix.pattern(rows: 1, cols: x.rows * d, seed: 50).values)
        let choices = ExplainExpertParallel.route(x, router)
        // One rank: dX = dY·W_eᵀ per token, dW_e = Σ over e's tokens xᵀ·dy.
        let expectedDX = SmallMatrix(rows: x.rows, cols: d, (0..<x.rows).flatMap {
            (dY.rows($0..<$0 + 1) * weights[choices[$0]].transposed).values
        })
        let expectedDW = weights.indices.map { e -> SmallMatrix in
            let mine = (0..<x.rows).filter { choices[$0] == e }
            let xs = x.rows(of: mine), gs = dY.rows(of: mine)
            return mine.isEmpty ? SmallMatrix(rows: d, cols: d, Array(repeating: 0, count: d * d)) : xs.transposed * gs
        }
        let held = try ExplainRanks.run(n) { try step($0, x: x, dY: dY, router: router, weights: weights) }
        var out = ["BACKWARD, given dY = ∂L/∂Y per token: the gradients take the forward's route there and back "
                   + "(the gate renormalised to 1 is constant: no router gradient from this loss)"]
        out += ExplainRanks.show("dY", held.map(\.dY))
        out.append("1. each rank sorts its dY rows by expert as in the forward and sends them with the same variable "
                   + "all-to-all on \(group) (the forward's counts; rows sent: "
                   + held.map { String($0.sentRows) }.joined(separator: ", ") + ")")
        out.append("2. expert e adds X_eᵀ·dY_e to dW_e (X_e: the tokens it multiplied in the forward) and computes dY_e·W_eᵀ")
        for (r, h) in held.enumerated() {
            for (e, w) in h.weightGradients.enumerated() { out += w.shown("  rank \(r) dW\(ExplainExpertParallel.localExperts * r + e)") }
        }
        out.append("3. the reverse all-to-all on \(group) returns each token's dX to its rank, put back in token order")
        out += ExplainRanks.show("dX", held.map(\.dX))
        let gatheredDX = SmallMatrix(rows: x.rows, cols: d, held.flatMap(\.dX.values))
        let dWs = held.flatMap(\.weightGradients)
        out.append(ExplainRanks.check("every token's dX and every expert's dW equal one rank holding all experts",
                                      gatheredDX == expectedDX && dWs == expectedDW
                                      && held.allSatisfy { $0.sentRows == $0.returnedRows }))
        out.append("per MoE layer and step: 2 all-to-alls forward (dispatch, combine), 2 backward (dY there, dX back), "
                   + "each moving a rank's routed rows")
        return out
    }

    static func step(_ g: ThreadGroup, x: SmallMatrix, dY: SmallMatrix, router: SmallMatrix,
                     weights: [SmallMatrix]) throws -> Held {
        let n = g.size, d = x.cols, local = ExplainExpertParallel.localExperts, per = ExplainExpertParallel.tokensPerRank
        let tokens = g.rank * per..<(g.rank + 1) * per
        let mine = x.rows(tokens), myDY = dY.rows(tokens)
        let choices = ExplainExpertParallel.route(mine, router)
        let order = (0..<mine.rows).sorted { (choices[$0], $0) < (choices[$1], $1) }
        var counts = [Int32](repeating: 0, count: n * local)
        for c in choices { counts[c] += 1 }
        var arrivedCounts = [Int32](repeating: 0, count: n * local)
        try counts.withUnsafeBufferPointer { s in
            try arrivedCounts.withUnsafeMutableBufferPointer { r in
                try g.allToAll(CommBuffer(s.baseAddress!, count: s.count), into: CommBuffer(r.baseAddress!, count: r.count))
            }
        }
        let received = (0..<n).map { q in (0..<local).map { Int(arrivedCounts[q * local + $0]) } }
        let sendRows = (0..<n).map { q in (0..<local).reduce(0) { $0 + Int(counts[q * local + $1]) } }
        let recvRows = received.map { $0.reduce(0, +) }
        // Forward dispatch (X, kept by the experts for their weight gradients), then the gradient's dispatch.
        let arrivedX = try g.variableAllToAll(order.flatMap { mine.rows($0..<$0 + 1).values }, send: sendRows, recv: recvRows, width: d)
        let arrivedDY = try g.variableAllToAll(order.flatMap { myDY.rows($0..<$0 + 1).values }, send: sendRows, recv: recvRows, width: d)
        var start = [[Int]](repeating: [], count: n), at = 0
        for q in 0..<n { for e in 0..<local { start[q].append(at); at += received[q][e] } }
        var dXRows = [Float](repeating: 0, count: arrivedDY.count), dWs: [SmallMatrix] = []
        for e in 0..<local {
            let rows = (0..<n).flatMap { q in start[q][e]..<(start[q][e] + received[q][e]) }
            let xs = SmallMatrix(rows: rows.count, cols: d, rows.flatMap { Array(arrivedX[($0 * d)..<($0 * d + d)]) })
            let gs = SmallMatrix(rows: rows.count, cols: d, rows.flatMap { Array(arrivedDY[($0 * d)..<($0 * d + d)]) })
            let w = weights[local * g.rank + e]
            dWs.append(rows.isEmpty ? SmallMatrix(rows: d, cols: d, Array(repeating: 0, count: d * d)) : xs.transposed * gs)
            guard !rows.isEmpty else { continue }
            let dx = gs * w.transposed
            for (i, row) in rows.enumerated() { dXRows.replaceSubrange((row * d)..<(row * d + d), with: dx.rows(i..<i + 1).values) }
        }
        let back = try g.variableAllToAll(dXRows, send: recvRows, recv: sendRows, width: d)
        var dX = [Float](repeating: 0, count: mine.values.count)
        for (i, token) in order.enumerated() { dX.replaceSubrange((token * d)..<(token * d + d), with: back[(i * d)..<(i * d + d)]) }
        return Held(dY: myDY, dX: SmallMatrix(rows: mine.rows, cols: d, dX), weightGradients: dWs,
                    sentRows: sendRows.reduce(0, +), returnedRows: back.count / d)
    }
}

extension ProcessGroup {
    /// Variable all-to-all of rows of `width` floats: `send[q]` rows go to rank q, `recv[q]` arrive from it.
    func variableAllToAll(_ rows: [Float], send: [Int], recv: [Int], width: Int) throws -> [Float] {
        var out = [Float](repeating: 0, count: recv.reduce(0, +) * width)
        try rows.withUnsafeBufferPointer { s in
            try out.withUnsafeMutableBufferPointer { r in
                try allToAll(s.baseAddress!, sendCounts: send.map { $0 * width }, into: r.baseAddress!,
                             recvCounts: recv.map { $0 * width })
            }
        }
        return out
    }
}
