import TesseraTopology

/// Pipeline parallelism on 2 or 4 ranks: the 1F1B schedule's action lists,
/// its timeline and bubble against (p−1)/(m+p−1), and a live forward of
/// integer micro-batches through the stages by send/recv, checked against
/// the whole model on one rank.
enum ExplainPipeline {
    static func lines(ranks p: Int) throws -> [String] {
        let m = 4, d = 3
        let weights = (0..<p).map { SmallMatrix.pattern(rows: d, cols: d, seed: 7 + $0) }
        let inputs = (0..<m).map { SmallMatrix.pattern(rows: 1, cols: d, seed: 20 + $0) }
        let expected = inputs.map { x in weights.reduce(x) { ($0 * $1).relu } }
        let schedule = try PipelineSchedules.make(.oneFOneB, ranks: p, microBatches: m)
        let timeline = try ScheduleSimulator.run(schedule, costs: ActionCosts(forward: 1, backward: 2, weight: 0))
        var out = ["pipeline parallelism, \(p) stages, \(m) micro-batches, schedule 1f1b: stage s holds W_s and computes relu(h·W_s)"]
        out.append("1. each rank's list of actions (F: forward, B: backward, send/recv to the neighbouring stage):")
        for r in 0..<p { out.append("  rank \(r): " + schedule.actions[r].map(\.description).joined(separator: " ")) }
        out.append("2. the timeline it gives (backward costs twice a forward; dots are the bubble):")
        out += TimelineRenderer.text(timeline).map { "  " + $0 }
        out.append(String(format: "   bubble %.1f%% = (p−1)/(m+p−1) = %d/%d = %.1f%%", 100 * timeline.bubbleFraction,
                          p - 1, m + p - 1, 100 * Double(p - 1) / Double(m + p - 1)))
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
        out.append("3. live forward of the \(m) micro-batches: stage s receives h from stage s−1 on \(group), computes, sends on")
        for r in 0..<p {
            out.append("  rank \(r) " + (r == 0 ? "input x" : "recv from rank \(r - 1)") + ": "
                       + held[r].received.map { $0.lines[0] }.joined(separator: " ") + "  → "
                       + (r == p - 1 ? "output " : "send to rank \(r + 1) ") + held[r].outputs.map { $0.lines[0] }.joined(separator: " "))
        }
        out.append(ExplainRanks.check("the last stage's outputs equal the whole model on one rank",
                                      held[p - 1].outputs == expected))
        return out
    }
}
