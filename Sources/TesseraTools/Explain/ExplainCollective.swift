import Foundation
import TesseraComm

/// A collective itself, step by step on N thread ranks: the ring all-reduce
/// (a reduce-scatter ring then an all-gather ring), each ring alone, and the
/// pairwise all-to-all. Every step is a real send/receive between
/// neighbouring ranks (`sendRecv`); the printout shows each rank's buffer
/// after it, the bytes each rank has sent so far, and ends by checking the
/// result against the sum computed on one rank and against the group's own
/// collective. Each rank's buffer is N chunks of 2 float32 values (8 bytes).
enum ExplainCollective {
    enum Op: String { case allreduce, reducescatter, allgather, alltoall }

    static let perChunk = 2
    static let chunkBytes = perChunk * MemoryLayout<Float>.size

    /// Rank r's input: chunk c holds 10·(r+1)+c and 100·(r+1)+c, so a sum shows where each part came from.
    static func input(rank r: Int, ranks n: Int) -> [Float] {
        var out: [Float] = []
        for c in 0..<n {
            let tens: Int = 10 * (r + 1) + c, hundreds: Int = 100 * (r + 1) + c
            out.append(Float(tens)); out.append(Float(hundreds))
        }
        return out
    }

    /// "| 11 111 | 12 112 | · · |": a rank's chunks; nil values (not yet received) as dots.
    static func shown(_ chunks: [[Float]?]) -> String {
        let cells: [String] = chunks.map { (c: [Float]?) -> String in
            guard let c else { return "· ·" }
            return c.map { String(Int($0)) }.joined(separator: " ")
        }
        return "| " + cells.joined(separator: " | ") + " |"
    }

    struct Step: Sendable { var text: String; var buffers: [[Float]?]; var sent: Int }

    static func lines(_ op: Op, ranks n: Int) throws -> [String] {
        let totalBytes = n * chunkBytes
        let results = try ExplainRanks.run(n) { g -> [Step] in
            let r = g.rank, next = (r + 1) % n, prev = (r + n - 1) % n
            func mod(_ i: Int) -> Int { ((i % n) + n) % n }
            var steps: [Step] = [], sent = 0
            var chunks: [[Float]?]
            let mine = input(rank: r, ranks: n)
            switch op {
            case .allgather: chunks = (0..<n).map { $0 == r ? Array(mine[(2 * r)..<(2 * r + 2)]) : nil }
            default: chunks = (0..<n).map { Array(mine[(2 * $0)..<(2 * $0 + 2)]) }
            }
            steps.append(Step(text: "start", buffers: chunks, sent: 0))
            func ring(_ s: Int, send: Int, receive: Int, add: Bool, tag: Int, phase: String) throws {
                var incoming = [Float](repeating: 0, count: perChunk)
                let out = chunks[send]!
                try out.withUnsafeBufferPointer { o in
                    try incoming.withUnsafeMutableBufferPointer { i in
                        try g.sendRecv(o.baseAddress!, count: perChunk, to: next, into: i.baseAddress!, from: prev, tag: tag)
                    }
                }
                chunks[receive] = add ? zip(chunks[receive]!, incoming).map { $0 + $1 } : incoming
                sent += chunkBytes
                steps.append(Step(text: "\(phase) step \(s + 1): send chunk \(send) to rank \(next), receive chunk \(receive) "
                                  + "from rank \(prev)" + (add ? " and add it" : " and keep it"), buffers: chunks, sent: sent))
            }
            if op == .allreduce || op == .reducescatter {
                // After step s, rank r's chunk r−s−2 holds s+2 ranks' parts; after N−1 steps chunk r holds all N.
                for s in 0..<(n - 1) { try ring(s, send: mod(r - s - 1), receive: mod(r - s - 2), add: true, tag: s, phase: "reduce-scatter") }
            }
            if op == .allreduce || op == .allgather {
                // Rank r starts with chunk r complete and passes on what it last received.
                for s in 0..<(n - 1) { try ring(s, send: mod(r - s), receive: mod(r - s - 1), add: false, tag: n + s, phase: "all-gather") }
            }
            if op == .alltoall {
                // Chunk j of rank r is for rank j. Step s: send the chunk for rank r+s straight to it, and
                // receive from rank r−s the chunk it holds for r (in its place r−s).
                var out = chunks
                for s in 1..<n {
                    let to = mod(r + s), from = mod(r - s)
                    var incoming = [Float](repeating: 0, count: perChunk)
                    let payload = chunks[to]!
                    try payload.withUnsafeBufferPointer { o in
                        try incoming.withUnsafeMutableBufferPointer { i in
                            try g.sendRecv(o.baseAddress!, count: perChunk, to: to, into: i.baseAddress!, from: from, tag: s)
                        }
                    }
                    out[from] = incoming
                    sent += chunkBytes
                    steps.append(Step(text: "step \(s): send chunk \(to) to rank \(to), receive rank \(from)'s chunk \(r) into place \(from)",
                                      buffers: out, sent: sent))
                }
                chunks = out
            }
            // The group's own collective on the same input, for the check.
            var library = [Float](repeating: 0, count: n * perChunk)
            try mine.withUnsafeBufferPointer { m in
                try library.withUnsafeMutableBufferPointer { l in
                    switch op {
                    case .allreduce:
                        for i in 0..<l.count { l[i] = m[i] }
                        try g.allReduce(l.baseAddress!, count: l.count, op: .sum)
                    case .reducescatter:
                        try g.reduceScatter(m.baseAddress!, total: m.count, into: l.baseAddress! + r * perChunk, op: .sum)
                    case .allgather:
                        try g.allGather(m.baseAddress! + r * perChunk, count: perChunk, into: l.baseAddress!)
                    case .alltoall:
                        try g.allToAll(m.baseAddress!, count: perChunk, into: l.baseAddress!)
                    }
                }
            }
            steps.append(Step(text: "library", buffers: (0..<n).map { Array(library[(2 * $0)..<(2 * $0 + 2)]) }, sent: sent))
            return steps
        }

        let name: [Op: String] = [.allreduce: "all-reduce (sum)", .reducescatter: "reduce-scatter (sum)",
                                  .allgather: "all-gather", .alltoall: "all-to-all"]
        var out = ["\(name[op]!) on \(n) ranks, "
                   + (op == .alltoall ? "pairwise exchange" : "ring 0 → 1 → … → \(n - 1) → 0")
                   + ": each rank's buffer is \(n) chunks of \(perChunk) float32 (\(chunkBytes) bytes a chunk, "
                   + "S = \(totalBytes) bytes in all)"]
        switch op {
        case .allreduce: out.append("rank r's chunk c starts as 10(r+1)+c, 100(r+1)+c; every rank must end with the sum over ranks of every chunk")
        case .reducescatter: out.append("rank r's chunk c starts as 10(r+1)+c, 100(r+1)+c; rank r must end with chunk r summed over ranks")
        case .allgather: out.append("rank r starts with only its chunk r (dots: not held yet); every rank must end with all of them")
        case .alltoall: out.append("rank r's chunk j is for rank j (as an expert layer's tokens for expert rank j); "
                                   + "rank r must end with chunk r of every rank, in rank order")
        }
        let stepCount = results[0].count - 1  // the last entry is the library's result
        for i in 0..<stepCount {
            out.append(i == 0 ? "start:" : "\(i). rank 0: " + results[0][i].text + " (rank r: every index + r, mod \(n))")
            for r in 0..<n {
                out.append("  rank \(r) " + shown(results[r][i].buffers) + (i == 0 ? "" : "  sent \(results[r][i].sent) B"))
            }
        }
        // Check against the sum on one rank and the group's collective.
        let inputs = (0..<n).map { input(rank: $0, ranks: n) }
        var sum = [Float](repeating: 0, count: n * perChunk)
        for v in inputs { for i in sum.indices { sum[i] += v[i] } }
        func chunk(_ v: [Float], _ c: Int) -> [Float] { Array(v[(perChunk * c)..<(perChunk * c + perChunk)]) }
        let finals = results.map { $0[stepCount - 1].buffers }
        let ok: Bool
        switch op {
        case .allreduce: ok = finals.allSatisfy { b in (0..<n).allSatisfy { b[$0] == chunk(sum, $0) } }
        case .reducescatter: ok = (0..<n).allSatisfy { finals[$0][$0] == chunk(sum, $0) }
        case .allgather: ok = finals.allSatisfy { b in (0..<n).allSatisfy { b[$0] == chunk(inputs[$0], $0) } }
        case .alltoall: ok = (0..<n).allSatisfy { r in (0..<n).allSatisfy { j in finals[r][j] == chunk(inputs[j], r) } }
        }
        let agrees = (0..<n).allSatisfy { r in
            op == .reducescatter ? results[r].last!.buffers[r] == finals[r][r] : results[r].last!.buffers == finals[r]
        }
        out.append(ExplainRanks.check("the result equals the one-rank computation", ok))
        out.append(ExplainRanks.check("it equals the group's own \(name[op]!) on the same input", agrees))
        let sent = results[0][stepCount - 1].sent
        let formula: String
        switch op {
        case .allreduce: formula = "2(N−1)/N · S = 2·\(n - 1)/\(n) · \(totalBytes)"
        default: formula = "(N−1)/N · S = \(n - 1)/\(n) · \(totalBytes)"
        }
        out.append("bytes each rank sent: \(sent) = \(formula) (S: the whole buffer, nccl-tests' size)")
        let gib = Double(sent) / Double(totalBytes)
        out.append(String(format: "time ≈ %@ steps × (α + (S/N)/β): for S = 1 GiB at β = 100 GB/s each rank sends %.2f GiB, "
                          + "%.1f ms plus %d latencies α", String(results[0].count - 2), gib, gib * 1.073741824e9 / 100e9 * 1000,
                          results[0].count - 2))
        if op == .allreduce {
            out.append("the seeds' 002 prices it as 2(N−1)·S/β, missing the /N: each of the 2(N−1) steps moves one chunk of S/N, "
                       + "so a ring all-reduce costs 2(N−1)/N · S/β, under 2·S/β however many ranks")
        }
        return out
    }
}
