import TesseraTopology

/// Pipeline parallelism on 2 or 4 ranks: a schedule's action lists (1F1B
/// unless another is given), its timeline with the micro-batches each rank
/// holds, its bubble (against (p−1)/(m+p−1) for GPipe and 1F1B), and a live
/// forward of integer micro-batches through the stages by send/recv, with
/// the weights and inputs shown so the values can be checked by hand,
/// checked against the whole model on one rank, and the backward flowing
/// from the last stage to the first (`ExplainPipelineBackward`).
enum ExplainPipeline {
    static func lines(ranks p: Int, schedule kind: PipelineScheduleKind = .oneFOneB) throws -> [String] {
        let m = 4, d = 3
        let weights = (0..<p).map { SmallMatrix.pattern(rows: d, cols: d, seed: 7 + $0) }
        let inputs = (0..<m).map { SmallMatrix.pattern(rows: 1, cols: d, seed: 20 + $0) }
        let expected = inputs.map { x in weights.reduce(x) { ($0 * $1).relu } }
        let chunks = kind.takesChunks ? 2 : 1
        let schedule = try PipelineSchedules.make(kind, ranks: p, microBatches: m, chunks: chunks)
        let costs = ActionCosts(forward: 1, backward: schedule.splitBackward ? 1 : 2, weight: schedule.splitBackward ? 1 : 0)
        let timeline = try ScheduleSimulator.run(schedule, stageCosts: costs)
        let residency = ActivationResidency(timeline, chunks: chunks)
        var out = ["pipeline parallelism (pp), \(p) stages, \(m) micro-batches, schedule \(kind.rawValue)"
                   + (chunks > 1 ? " with \(chunks) chunks (virtual stages) per rank" : "")
                   + ": stage s holds W_s and computes relu(h·W_s)"]
        for (s, w) in weights.enumerated() { out += w.shown("W_\(s) (rank \(s))") }
        out.append("1. each rank's list of actions (F: forward, B: backward" + (schedule.splitBackward ? " of the input, W: of the weights" : "")
                   + (chunks > 1 ? ", .c: on virtual stage c" : "") + "; send/recv to the neighbouring stage):")
        for r in 0..<p {
            out.append("  rank \(r): " + schedule.actions[r].map { a in a.description + (chunks > 1 ? ".\(a.stage)" : "") }
                .joined(separator: " "))
        }
        out.append("2. the timeline it gives (a backward costs twice a forward; dots are the bubble; "
                   + "'held': micro-batches whose activations the rank keeps for their backward):")
        out += TimelineRenderer.text(timeline, chunksOf: chunks > 1 ? p : nil, residency: residency).map { "  " + $0 }
        if kind == .gpipe || kind == .oneFOneB {
            out.append(String(format: "   bubble %.1f%% = (p−1)/(m+p−1) = %d/%d = %.1f%%", 100 * timeline.bubbleFraction,
                              p - 1, m + p - 1, 100 * Double(p - 1) / Double(m + p - 1)))
        } else {
            out.append(String(format: "   bubble %.1f%% (1F1B's would be (p−1)/(m+p−1) = %.1f%%)", 100 * timeline.bubbleFraction,
                              100 * Double(p - 1) / Double(m + p - 1)))
        }
        out.append("   micro-batches held at most, per rank: " + residency.peakMicroBatches.map(String.init).joined(separator: ", ")
                   + (kind == .gpipe ? " (GPipe keeps all m: why 1F1B exists)" : kind == .oneFOneB ? " (1F1B: at most p − rank)" : ""))
        struct Held: Sendable { var received: [SmallMatrix], outputs: [SmallMatrix] }
        let held = try ExplainRanks.run(p) { g in
            var received: [SmallMatrix] = [], outputs: [SmallMatrix] = []
            for (mb, x) in inputs.enumerated() {
                var h = x
                if g.rank > 0 {
                    var buf = [Float](repeating: 0, count: d)
                    try buf.withUnsafeMutableBufferPointer { try g.recv($0.baseAddress!, count: d, from: g.rank - 1, tag: mb) }
                    h = SmallMatrix(rows: 1, cols: d, buf)
                }
                received.append(h)
                let y = (h * weights[g.rank]).relu
                if g.rank < p - 1 {
                    try y.values.withUnsafeBufferPointer { try g.send($0.baseAddress!, count: d, to: g.rank + 1, tag: mb) }
                }
                outputs.append(y)
            }
            return Held(received: received, outputs: outputs)
        }
        let group = "pp[" + (0..<p).map(String.init).joined(separator: ", ") + "]"
        for (mb, x) in inputs.enumerated() { out += x.shown("x_\(mb)") }
        out.append("3. live forward of the \(m) micro-batches: stage s receives h from stage s−1 on \(group), computes relu(h·W_s), sends on")
        for r in 0..<p {
            out.append("  rank \(r) " + (r == 0 ? "input x" : "recv from rank \(r - 1)") + ": "
                       + held[r].received.map { $0.lines[0] }.joined(separator: " ") + "  → "
                       + (r == p - 1 ? "output " : "send to rank \(r + 1) ") + held[r].outputs.map { $0.lines[0] }.joined(separator: " "))
        }
        out.append(ExplainRanks.check("the last stage's outputs equal the whole model on one rank",
                                      held[p - 1].outputs == expected))
        out += try ExplainPipelineBackward.lines(weights: weights, inputs: inputs, group: group)
        return out
    }
}
