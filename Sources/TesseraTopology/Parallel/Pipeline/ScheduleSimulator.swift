/// What each compute action costs, in any time unit (seconds when measured).
public struct ActionCosts: Sendable, Equatable {
    public var forward: Double, backward: Double, weight: Double
    /// Time a message takes from send to receive.
    public var transfer: Double

    public init(forward: Double = 1, backward: Double = 1, weight: Double = 1, transfer: Double = 0) {
        self.forward = forward; self.backward = backward; self.weight = weight; self.transfer = transfer
    }

    /// The costs of one chunk when these are a whole stage's and each rank
    /// holds `chunks` virtual stages of equal size (the interleaved
    /// schedule): every compute cost over `chunks`; the transfer is unchanged.
    public func perChunk(_ chunks: Int) -> ActionCosts {
        let v = Double(max(chunks, 1))
        return ActionCosts(forward: forward / v, backward: backward / v, weight: weight / v, transfer: transfer)
    }

    /// The cost of `kind` in a schedule that does (or does not) split B and W:
    /// an unsplit backward computes both gradients, costing B + W.
    public func cost(_ kind: PipelineAction.Kind, split: Bool) -> Double {
        switch kind {
        case .forward: return forward
        case .backward: return split ? backward : backward + weight
        case .weight: return weight
        default: return 0
        }
    }
}

/// One action as it ran (or would run): rank, action, start and end time.
public struct TimedAction: Sendable, Equatable {
    public var rank: Int
    public var action: PipelineAction
    public var start: Double, end: Double
    public init(rank: Int, action: PipelineAction, start: Double, end: Double) {
        self.rank = rank; self.action = action; self.start = start; self.end = end
    }
}

/// A timeline of compute actions: from the simulator or from a traced run.
public struct Timeline: Sendable {
    public var ranks: Int
    public var spans: [TimedAction]

    public init(ranks: Int, spans: [TimedAction]) { self.ranks = ranks; self.spans = spans }

    /// From the first start to the last end.
    public var stepTime: Double {
        (spans.map(\.end).max() ?? 0) - (spans.map(\.start).min() ?? 0)
    }
    /// Busy time of each rank (compute only).
    public var busy: [Double] {
        (0..<ranks).map { r in spans.filter { $0.rank == r }.reduce(0) { $0 + $1.end - $1.start } }
    }
    /// Idle share of p × step time: 1 − Σ busy / (p · step).
    public var bubbleFraction: Double {
        stepTime > 0 ? 1 - busy.reduce(0, +) / (Double(ranks) * stepTime) : 0
    }
    /// Idle time of the average rank: step − mean busy.
    public var bubbleTime: Double { stepTime - busy.reduce(0, +) / Double(ranks) }
}

/// Times a schedule: each rank runs its actions in order; a compute action
/// takes its cost, a send is instant (eager), a receive waits for its send
/// plus `transfer`. The same symbolic execution as the checker, with clocks.
public enum ScheduleSimulator {
    /// Times `s` with `stageCosts` the costs of a whole pipeline stage (all
    /// the blocks one rank holds): a chunk of an interleaved schedule is
    /// 1/v of its rank's blocks and costs 1/v of them (`ActionCosts.perChunk`).
    public static func run(_ s: PipelineSchedule, stageCosts: ActionCosts) throws -> Timeline {
        try run(s, costs: stageCosts.perChunk(s.chunks))
    }

    /// Times `s` with `costs` the costs of one action (of one chunk).
    public static func run(_ s: PipelineSchedule, costs: ActionCosts = ActionCosts()) throws -> Timeline {
        try run(s, transfer: costs.transfer) { costs.cost($0.kind, split: s.splitBackward) }
    }

    /// The same with a cost per action (e.g. measured per stage and kind).
    public static func run(_ s: PipelineSchedule, transfer: Double = 0,
                           cost: (PipelineAction) -> Double) throws -> Timeline {
        try ScheduleChecker.check(s)
        var clock = [Double](repeating: 0, count: s.ranks), pc = [Int](repeating: 0, count: s.ranks)
        var arrivals: [PipelineAction: Double] = [:]
        var spans: [TimedAction] = []
        var progressed = true
        while progressed {
            progressed = false
            for r in 0..<s.ranks {
                running: while pc[r] < s.actions[r].count {
                    let a = s.actions[r][pc[r]]
                    switch a.kind {
                    case .recvActivation, .recvGradient:
                        guard let t = arrivals.removeValue(forKey: a) else { break running }
                        clock[r] = max(clock[r], t)
                    case .sendActivation:
                        arrivals[PipelineAction(.recvActivation, microBatch: a.microBatch, stage: a.stage + 1)] = clock[r] + transfer
                    case .sendGradient:
                        arrivals[PipelineAction(.recvGradient, microBatch: a.microBatch, stage: a.stage - 1)] = clock[r] + transfer
                    default:
                        let end = clock[r] + cost(a)
                        spans.append(TimedAction(rank: r, action: a, start: clock[r], end: end))
                        clock[r] = end
                    }
                    pc[r] += 1
                    progressed = true
                }
            }
        }
        return Timeline(ranks: s.ranks, spans: spans)
    }
}
