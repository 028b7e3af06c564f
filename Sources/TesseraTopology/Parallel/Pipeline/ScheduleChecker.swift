import TesseraSupport

/// Proves a schedule runnable: complete (each rank computes F and B — and W
/// when split — of every micro-batch on each of its stages exactly once, and
/// nothing else), and deadlock-free with eager sends and blocking receives
/// (every receive is matched by a send that can happen first, every
/// dependency runs before its use, nothing is left in flight).
public enum ScheduleChecker {
    /// Throws a `ConfigError` naming the first problem: a missing or repeated
    /// action, or the ranks and actions a deadlock would stop at.
    public static func check(_ s: PipelineSchedule) throws {
        try checkComplete(s)
        try checkRunnable(s)
    }

    static func checkComplete(_ s: PipelineSchedule) throws {
        for r in 0..<s.ranks {
            var expected = Set<PipelineAction>()
            for c in 0..<s.chunks {
                let stage = c * s.ranks + r
                for m in 0..<s.microBatches {
                    expected.insert(PipelineAction(.forward, microBatch: m, stage: stage))
                    expected.insert(PipelineAction(.backward, microBatch: m, stage: stage))
                    if s.splitBackward { expected.insert(PipelineAction(.weight, microBatch: m, stage: stage)) }
                }
            }
            let compute = s.actions[r].filter(\.isCompute)
            if Set(compute).count != compute.count {
                let repeated = Dictionary(grouping: compute, by: { $0 }).first { $0.value.count > 1 }!.key
                throw ConfigError("schedule \(s.name): rank \(r) runs \(repeated) on stage \(repeated.stage) twice")
            }
            if let missing = expected.subtracting(compute).sorted(by: { "\($0)" < "\($1)" }).first {
                throw ConfigError("schedule \(s.name): rank \(r) never runs \(missing) on stage \(missing.stage)")
            }
            if let extra = Set(compute).subtracting(expected).first {
                throw ConfigError("schedule \(s.name): rank \(r) runs \(extra) on stage \(extra.stage), which it does not hold")
            }
        }
    }

    /// Executes the programs symbolically: a rank advances while its next
    /// action's inputs exist; sends are buffered.
    static func checkRunnable(_ s: PipelineSchedule) throws {
        var pc = [Int](repeating: 0, count: s.ranks)
        var done = Set<PipelineAction>()          // compute actions finished (stage identifies the rank)
        var inFlight = Set<PipelineAction>()      // sent, not yet received: keyed by the receiving action
        func ready(_ a: PipelineAction) -> Bool {
            switch a.kind {
            case .forward:
                return a.stage == 0 || done.contains(PipelineAction(.recvActivation, microBatch: a.microBatch, stage: a.stage))
            case .backward:
                return done.contains(PipelineAction(.forward, microBatch: a.microBatch, stage: a.stage))
                    && (a.stage == s.stages - 1
                        || done.contains(PipelineAction(.recvGradient, microBatch: a.microBatch, stage: a.stage)))
            case .weight: return done.contains(PipelineAction(.backward, microBatch: a.microBatch, stage: a.stage))
            case .sendActivation: return done.contains(PipelineAction(.forward, microBatch: a.microBatch, stage: a.stage))
            case .sendGradient: return done.contains(PipelineAction(.backward, microBatch: a.microBatch, stage: a.stage))
            case .recvActivation, .recvGradient: return inFlight.contains(a)
            }
        }
        var progressed = true
        while progressed {
            progressed = false
            for r in 0..<s.ranks {
                while pc[r] < s.actions[r].count, ready(s.actions[r][pc[r]]) {
                    let a = s.actions[r][pc[r]]
                    guard s.rank(of: a.stage) == r else {
                        throw ConfigError("schedule \(s.name): rank \(r) has \(a) for stage \(a.stage), held by rank \(s.rank(of: a.stage))")
                    }
                    switch a.kind {
                    case .sendActivation: inFlight.insert(PipelineAction(.recvActivation, microBatch: a.microBatch, stage: a.stage + 1))
                    case .sendGradient: inFlight.insert(PipelineAction(.recvGradient, microBatch: a.microBatch, stage: a.stage - 1))
                    case .recvActivation, .recvGradient: inFlight.remove(a)
                    default: break
                    }
                    done.insert(a)
                    pc[r] += 1
                    progressed = true
                }
            }
        }
        let stuck = (0..<s.ranks).filter { pc[$0] < s.actions[$0].count }
        if !stuck.isEmpty {
            let at = stuck.map { "rank \($0) at \(s.actions[$0][pc[$0]]) (stage \(s.actions[$0][pc[$0]].stage))" }
            throw ConfigError("schedule \(s.name) deadlocks: " + at.joined(separator: ", "))
        }
        if let left = inFlight.first {
            throw ConfigError("schedule \(s.name): a message for \(left) on stage \(left.stage) is sent but never received")
        }
    }
}
