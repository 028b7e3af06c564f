import Foundation
import TesseraSupport
import TesseraComm
import TesseraTopology

/// What a traced pipeline step actually ran: every compute action of every
/// pipeline rank with its start and end, gathered in memory from the
/// executors (`bench pipeline`) or read from a run's Chrome trace
/// (`tessera schedule --from-trace`).
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

    /// The last traced step of a run's Chrome trace (`tessera train --trace
    /// FILE`) as a pipeline timeline: the F/B/W actions of the ranks at dp 0,
    /// tp 0, one row per pipeline rank. A trace without pipeline actions is a
    /// `ConfigError` naming the file.
    public static func timeline(_ trace: ChromeTrace, path: String) throws -> Timeline {
        let kinds = Dictionary(uniqueKeysWithValues: PipelineAction.Kind.allCases.map { ($0.rawValue, $0) })
        var spans: [TimedAction] = []
        for r in trace.otherData.ranks where r.dp == 0 && r.tp == 0 {
            guard let step = trace.slices.filter({ $0.pid == r.rank && $0.cat == "step" }).max(by: { $0.ts! < $1.ts! })
            else { continue }
            for s in trace.slices where s.pid == r.rank && s.cat == "pipeline" && s.ts! >= step.ts! && s.end <= step.end {
                guard let kind = s.text("kind").flatMap({ kinds[$0] }), let mb = s.int("micro_batch"),
                      let stage = s.int("stage") else {
                    throw ConfigError("trace file '\(path)': pipeline slice '\(s.name)' lacks kind, micro_batch or stage")
                }
                spans.append(TimedAction(rank: r.pp, action: PipelineAction(kind, microBatch: mb, stage: stage),
                                         start: s.ts! / 1e6, end: s.end / 1e6))
            }
        }
        guard !spans.isEmpty else {
            throw ConfigError("trace file '\(path)' holds no pipeline actions (trace a run with --pp 2 or more)")
        }
        return Timeline(ranks: (spans.map(\.rank).max() ?? 0) + 1, spans: spans)
    }

    /// Reads the pipeline timeline of the trace file at `path` (see `timeline(_:path:)`).
    public static func read(path: String) throws -> Timeline { try timeline(ChromeTrace.read(path: path), path: path) }

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
