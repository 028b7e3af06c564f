import TesseraSupport
import TesseraTopology

/// `tessera explain STRATEGY`: a live run of a parallel strategy on 2–4
/// thread ranks and tiny integer matrices, printed step by step — what each
/// rank holds, which collective runs on which group, what each rank holds
/// after it — ending with the check against the unsharded computation.
public enum Explain {
    /// The strategies with an explanation.
    public enum Strategy: String, CaseIterable, Sendable {
        case tp, sp, dp, pp, cp, ep, zero
        /// The collectives themselves, step by step (ring or pairwise).
        case allreduce, reducescatter, allgather, alltoall

        /// Whether this is a collective (2 to 8 ranks) rather than a strategy (2 or 4).
        public var isCollective: Bool { ExplainCollective.Op(rawValue: rawValue) != nil }
    }

    /// The explanation of `strategy` on `ranks` ranks (2 unless given; 2 or 4, a collective 2 to 8);
    /// `schedule` is pp's (1F1B unless given; a `ConfigError` for another strategy).
    public static func lines(_ strategy: Strategy, ranks: Int = 2, schedule: PipelineScheduleKind? = nil) throws -> [String] {
        if let op = ExplainCollective.Op(rawValue: strategy.rawValue) {
            guard (2...8).contains(ranks) else { throw ConfigError("explain \(strategy.rawValue) runs on 2 to 8 ranks, got \(ranks)") }
            if schedule != nil { throw ConfigError("--schedule is pp's; drop it for explain \(strategy.rawValue)") }
            return try ExplainCollective.lines(op, ranks: ranks)
        }
        guard [2, 4].contains(ranks) else {
            throw ConfigError("explain \(strategy.rawValue) runs on 2 or 4 ranks, got \(ranks)")
        }
        if schedule != nil && strategy != .pp {
            throw ConfigError("--schedule is pp's; drop it for explain \(strategy.rawValue)")
        }
        switch strategy {
        case .tp: return try ExplainTensorParallel.lines(ranks: ranks, sequenceParallel: false)
        case .sp: return try ExplainTensorParallel.lines(ranks: ranks, sequenceParallel: true)
        case .dp: return try ExplainDataParallel.lines(ranks: ranks)
        case .pp: return try ExplainPipeline.lines(ranks: ranks, schedule: schedule ?? .oneFOneB)
        case .cp: return try ExplainContextParallel.lines(ranks: ranks)
        case .zero: return try ExplainZeRO.lines(ranks: ranks)
        case .ep: return try ExplainExpertParallel.lines(ranks: ranks)
        case .allreduce, .reducescatter, .allgather, .alltoall: fatalError("handled above")
        }
    }
}
