import TesseraKernels
import TesseraComm

/// Expert parallelism on 2 or 4 ranks, run live: 2 experts per rank (E = 2·ranks,
/// each a d×d matrix), 3 tokens of width 2 per rank, a top-1 router with
/// scores x·R (ties to the lowest expert; the one kept gate renormalises
/// to 1, so values stay integers). Each rank routes its tokens, sorts them
/// by expert, exchanges per-expert counts with an integer all-to-all, sends
/// the tokens with a variable all-to-all, runs each local expert as one
/// product over the tokens that arrived for it, returns the results with the
/// reverse all-to-all and puts them back in token order; the check compares
/// every token's output with one rank that holds all experts.
enum ExplainExpertParallel {
    /// What one rank held and exchanged.
    struct Held: Sendable {
        var tokens: SmallMatrix, choices: [Int]
        /// Tokens sent to each rank, and received from each, per local expert there/here: [rank][local expert].
        var sent: [[Int]], received: [[Int]]
        /// Per local expert: the tokens it multiplied (from every source, source-major).
        var batches: [SmallMatrix]
        var output: SmallMatrix
    }

    static let width = 2, tokensPerRank = 3, localExperts = 2

    static func lines(ranks n: Int) throws -> [String] {
        let d = width, experts = localExperts * n
        // Drawn as one row and reshaped (a two-column pattern would repeat its rows).
        func drawn(_ rows: Int, _ cols: Int, seed: Int) -> SmallMatrix {
            SmallMatrix(rows: rows, cols: cols, SmallMatrix.pattern(rows: 1, cols: rows * cols, seed: seed).values)
        }
        let x = drawn(n * tokensPerRank, d, seed: 21)
        let router = drawn(d, experts, seed: 22)
        let weights = (0..<experts).map { drawn(d, d, seed: 30 + $0) }
        // One rank: every token through the expert the router picks.
        let choices = route(x, router)
        let expected = SmallMatrix(rows: x.rows, cols: d, (0..<x.rows).flatMap { (x.rows($0..<$0 + 1) * weights[choices[$0]]).values })
        let group = "ep[" + (0..<n).map(String.init).joined(separator: ", ") + "]"
        var out = ["expert parallelism (ep: each rank holds some of a mixture-of-experts layer's experts), \(n) ranks, group \(group): \(experts) experts (rank r holds experts "
                   + "\(localExperts)r and \(localExperts)r+1), \(tokensPerRank) tokens per rank of width \(d), top-1 router "
                   + "(scores x·R, ties to the lowest expert; the kept gate renormalises to 1)"]
        out += router.shown("R (router, on every rank)")
        for (e, w) in weights.enumerated() { out += w.shown("W\(e) (expert \(e), on rank \(e / localExperts))") }
        let held = try ExplainRanks.run(n) { try step($0, x: x, router: router, weights: weights) }
        out += ExplainRanks.show("tokens", held.map(\.tokens))
        for (r, h) in held.enumerated() {
            out.append("  rank \(r) routes its tokens to experts \(h.choices.map(String.init).joined(separator: ", "))")
        }
        out.append("all-to-all (int32, \(localExperts) counts per pair) on \(group): how many tokens each rank sends "
                   + "to each expert of each rank")
        for (r, h) in held.enumerated() {
            out.append("  rank \(r) sends " + h.sent.enumerated().map { q, c in "\(c.reduce(0, +)) to rank \(q) \(c)" }
                .joined(separator: ", ") + "; receives " + h.received.enumerated().map { q, c in "\(c.reduce(0, +)) from rank \(q)" }
                .joined(separator: ", "))
        }
        out.append("variable all-to-all (float32, rows sorted by expert) on \(group), then one product per local expert:")
        for (r, h) in held.enumerated() {
            for (e, batch) in h.batches.enumerated() {
                let name = "  rank \(r) expert \(localExperts * r + e) multiplies"
                out += batch.rows > 0 ? batch.shown(name) : [name + " no tokens"]
            }
        }
        out.append("reverse variable all-to-all on \(group), then each rank puts the rows back in token order:")
        out += ExplainRanks.show("output", held.map(\.output))
        let load = (0..<experts).map { e in choices.filter { $0 == e }.count }
        let mean = Double(x.rows) / Double(experts)
        out.append("load: tokens per expert \(load.map(String.init).joined(separator: ", ")); busiest "
                   + String(format: "%.2f", Double(load.max()!) / mean) + "× the mean (uneven routing idles the other ranks: "
                   + "the aux loss pushes it toward 1)")
        let gathered = SmallMatrix(rows: x.rows, cols: d, held.flatMap(\.output.values))
        out.append(ExplainRanks.check("every token's output equals one rank holding all experts", gathered == expected))
        out += try ExplainExpertBackward.lines(x: x, router: router, weights: weights, group: group)
        return out
    }

    /// Top-1 expert of each row of x: the highest score x·R, the lowest index on ties.
    static func route(_ x: SmallMatrix, _ router: SmallMatrix) -> [Int] {
        let scores = x * router
        return (0..<x.rows).map { i in (0..<scores.cols).reduce(0) { scores[i, $1] > scores[i, $0] ? $1 : $0 } }
    }

    /// One rank's dispatch, expert products and combine with the real all-to-alls on `g`.
    static func step(_ g: ThreadGroup, x: SmallMatrix, router: SmallMatrix, weights: [SmallMatrix]) throws -> Held {
        let n = g.size, d = width, mine = x.rows(g.rank * tokensPerRank..<(g.rank + 1) * tokensPerRank)
        let choices = route(mine, router)
        // Permute: tokens sorted by expert (stable), so each destination's rows are consecutive and expert-major.
        let order = (0..<mine.rows).sorted { (choices[$0], $0) < (choices[$1], $1) }
        let sorted = order.flatMap { mine.rows($0..<$0 + 1).values }
        var counts = [Int32](repeating: 0, count: n * localExperts)
        for c in choices { counts[c] += 1 }
        var arrivedCounts = [Int32](repeating: 0, count: n * localExperts)
        try counts.withUnsafeBufferPointer { s in
            try arrivedCounts.withUnsafeMutableBufferPointer { r in
                try g.allToAll(CommBuffer(s.baseAddress!, count: s.count), into: CommBuffer(r.baseAddress!, count: r.count))
            }
        }
        let sent = (0..<n).map { q in (0..<localExperts).map { Int(counts[q * localExperts + $0]) } }
        let received = (0..<n).map { q in (0..<localExperts).map { Int(arrivedCounts[q * localExperts + $0]) } }
        let sendRows = sent.map { $0.reduce(0, +) }, recvRows = received.map { $0.reduce(0, +) }
        var arrived = [Float](repeating: 0, count: recvRows.reduce(0, +) * d)
        try sorted.withUnsafeBufferPointer { s in
            try arrived.withUnsafeMutableBufferPointer { r in
                try g.allToAll(s.baseAddress!, sendCounts: sendRows.map { $0 * d }, into: r.baseAddress!,
                               recvCounts: recvRows.map { $0 * d })
            }
        }
        // Arrived rows are source-major, expert-major within a source: find each (source, expert) run.
        var start = [[Int]](repeating: [], count: n), at = 0
        for q in 0..<n { for e in 0..<localExperts { start[q].append(at); at += received[q][e] } }
        var results = [Float](repeating: 0, count: arrived.count)
        var batches: [SmallMatrix] = []
        for e in 0..<localExperts {
            let rows = (0..<n).flatMap { q in (start[q][e]..<start[q][e] + received[q][e]) }
            let batch = SmallMatrix(rows: rows.count, cols: d, rows.flatMap { Array(arrived[($0 * d)..<($0 * d + d)]) })
            batches.append(batch)
            guard batch.rows > 0 else { continue }
            let y = batch * weights[localExperts * g.rank + e]
            for (i, row) in rows.enumerated() { results.replaceSubrange((row * d)..<(row * d + d), with: y.rows(i..<i + 1).values) }
        }
        var back = [Float](repeating: 0, count: sorted.count)
        try results.withUnsafeBufferPointer { s in
            try back.withUnsafeMutableBufferPointer { r in
                try g.allToAll(s.baseAddress!, sendCounts: recvRows.map { $0 * d }, into: r.baseAddress!,
                               recvCounts: sendRows.map { $0 * d })
            }
        }
        // Un-permute: sorted row i belongs to token order[i].
        var output = [Float](repeating: 0, count: mine.values.count)
        for (i, token) in order.enumerated() { output.replaceSubrange((token * d)..<(token * d + d), with: back[(i * d)..<(i * d + d)]) }
        return Held(tokens: mine, choices: choices, sent: sent, received: received, batches: batches,
                    output: SmallMatrix(rows: mine.rows, cols: d, output))
    }
}
