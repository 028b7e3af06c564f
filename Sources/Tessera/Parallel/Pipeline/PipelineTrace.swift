import Foundation

/// What a traced pipeline step actually ran: every compute action of every
/// pipeline rank with its start and end, written as text (one action per
/// line: `rank kind micro-batch stage start end`, times in seconds on the
/// machine's monotonic clock) for `tessera schedule --from-trace`.
public enum PipelineTrace {
    /// Collects the executor's last step from every rank of the pp group
    /// (collective) into a timeline, on every rank.
    public static func gather(_ executor: PipelineExecutor, pp: ProcessGroup) throws -> Timeline {
        let kinds = PipelineAction.Kind.allCases
        var mine: [Int] = []
        for e in executor.trace {
            mine += [kinds.firstIndex(of: e.action.kind)!, e.action.microBatch, e.action.stage,
                     Int(e.start * 1e9), Int(e.end * 1e9)]
        }
        let counts = try pp.allGather([mine.count])
        guard Set(counts).count == 1 else {
            throw CommError("pipeline trace: ranks recorded different numbers of actions \(counts); run with tracing on every rank")
        }
        let all = try pp.allGather(mine)
        var spans: [TimedAction] = []
        for r in 0..<pp.size {
            let part = all[(r * counts[0])..<((r + 1) * counts[0])].map { $0 }
            for i in stride(from: 0, to: part.count, by: 5) {
                spans.append(TimedAction(rank: r, action: PipelineAction(kinds[part[i]], microBatch: part[i + 1],
                                                                         stage: part[i + 2]),
                                         start: Double(part[i + 3]) / 1e9, end: Double(part[i + 4]) / 1e9))
            }
        }
        return Timeline(ranks: pp.size, spans: spans)
    }

    /// The timeline as text lines.
    public static func encode(_ t: Timeline) -> String {
        t.spans.map { String(format: "%d %@ %d %d %.9f %.9f", $0.rank, $0.action.kind.rawValue, $0.action.microBatch,
                             $0.action.stage, $0.start, $0.end) }.joined(separator: "\n") + "\n"
    }

    /// Reads a trace file; a malformed line is a `ConfigError` naming it.
    public static func read(path: String) throws -> Timeline {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigError("trace file '\(path)' does not exist or is not text (write one with tessera train --trace FILE)")
        }
        var spans: [TimedAction] = []
        for (n, line) in text.split(separator: "\n").enumerated() {
            let f = line.split(separator: " ")
            guard f.count == 6, let r = Int(f[0]), let kind = PipelineAction.Kind(rawValue: String(f[1])),
                  let mb = Int(f[2]), let stage = Int(f[3]), let a = Double(f[4]), let b = Double(f[5]), b >= a else {
                throw ConfigError("trace file '\(path)' line \(n + 1) is not 'rank kind micro-batch stage start end': \(line)")
            }
            spans.append(TimedAction(rank: r, action: PipelineAction(kind, microBatch: mb, stage: stage), start: a, end: b))
        }
        guard !spans.isEmpty else { throw ConfigError("trace file '\(path)' holds no actions") }
        return Timeline(ranks: (spans.map(\.rank).max() ?? 0) + 1, spans: spans)
    }

    /// Mean measured duration of each (stage, kind): the costs the simulator
    /// needs to predict this run.
    public static func meanCosts(_ t: Timeline) -> [PipelineAction: Double] {
        var sum: [PipelineAction: (Double, Int)] = [:]
        for s in t.spans {
            let key = PipelineAction(s.action.kind, microBatch: 0, stage: s.action.stage)
            let (a, n) = sum[key] ?? (0, 0)
            sum[key] = (a + s.end - s.start, n + 1)
        }
        return sum.mapValues { $0.0 / Double($0.1) }
    }
}
