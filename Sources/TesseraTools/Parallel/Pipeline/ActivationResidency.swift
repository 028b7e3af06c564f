import TesseraTopology

/// What each pipeline rank holds over a step: the micro-batches whose
/// activations it keeps (from the start of a micro-batch's forward on a chunk
/// until that chunk's last backward action ends — W when the schedule splits
/// the backward, B otherwise), and their activation memory in units of one
/// micro-batch's activations of a whole stage (a chunk of an interleaved
/// schedule holds 1/chunks of that). This is why 1F1B exists: GPipe's rank 0
/// holds all m micro-batches at once, 1F1B's at most p.
public struct ActivationResidency: Sendable {
    /// One change: from `time` on, the rank holds `microBatches` micro-batches and `activations` stage-activations.
    public struct Level: Sendable, Equatable {
        public var time: Double, microBatches: Int, activations: Double
    }

    /// levels[r]: rank r's changes in time order, starting at 0 held.
    public let levels: [[Level]]

    /// The residency of timeline `t` whose ranks hold `chunks` virtual stages each.
    public init(_ t: Timeline, chunks: Int = 1) {
        let share = 1 / Double(max(chunks, 1))
        let split = t.spans.contains { $0.action.kind == .weight }
        var result: [[Level]] = []
        for r in 0..<t.ranks {
            let mine = t.spans.filter { $0.rank == r }
            // Per (micro-batch, stage): when its activations arrive and leave.
            var start: [Int: [Int: Double]] = [:], end: [Int: [Int: Double]] = [:]
            for s in mine {
                let m = s.action.microBatch, st = s.action.stage
                switch s.action.kind {
                case .forward: start[m, default: [:]][st] = s.start
                case .backward where !split, .weight: end[m, default: [:]][st] = s.end
                default: break
                }
            }
            var events: [(time: Double, mb: Int, stage: Int, arrive: Bool)] = []
            for (m, stages) in start {
                for (st, t0) in stages {
                    events.append((t0, m, st, true))
                    if let t1 = end[m]?[st] { events.append((t1, m, st, false)) }
                }
            }
            // Leaving before arriving at the same instant, so back-to-back use does not count twice.
            events.sort { $0.time != $1.time ? $0.time < $1.time : (!$0.arrive && $1.arrive) }
            var held: [Int: Int] = [:], activations = 0.0
            var levels = [Level(time: t.spans.map(\.start).min() ?? 0, microBatches: 0, activations: 0)]
            for e in events {
                held[e.mb, default: 0] += e.arrive ? 1 : -1
                if held[e.mb] == 0 { held[e.mb] = nil }
                activations += e.arrive ? share : -share
                let level = Level(time: e.time, microBatches: held.count, activations: max(0, activations))
                if levels.last!.time == e.time { levels[levels.count - 1] = level } else { levels.append(level) }
            }
            result.append(levels)
        }
        levels = result
    }

    /// Most micro-batches each rank holds at once.
    public var peakMicroBatches: [Int] { levels.map { $0.map(\.microBatches).max() ?? 0 } }
    /// Most stage-activations each rank holds at once.
    public var peakActivations: [Double] { levels.map { $0.map(\.activations).max() ?? 0 } }

    /// What rank `r` holds at `time`.
    public func level(rank r: Int, at time: Double) -> Level {
        levels[r].last { $0.time <= time } ?? Level(time: time, microBatches: 0, activations: 0)
    }
}
