import TesseraSupport

/// `tessera explain STRATEGY`: a live run of a parallel strategy on 2–4
/// thread ranks and tiny integer matrices, printed step by step — what each
/// rank holds, which collective runs on which group, what each rank holds
/// after it — ending with the check against the unsharded computation.
public enum Explain {
    /// The strategies with an explanation.
    public enum Strategy: String, CaseIterable, Sendable {
        case tp, sp, dp, pp, cp, ep, zero
    }

    /// The explanation of `strategy` on `ranks` ranks (2 unless given; 2 or 4).
    public static func lines(_ strategy: Strategy, ranks: Int = 2) throws -> [String] {
        guard [2, 4].contains(ranks) else {
            throw ConfigError("explain runs on 2 or 4 ranks, got \(ranks)")
        }
        switch strategy {
        case .tp: return try ExplainTensorParallel.lines(ranks: ranks, sequenceParallel: false)
        case .sp: return try ExplainTensorParallel.lines(ranks: ranks, sequenceParallel: true)
        case .dp: return try ExplainDataParallel.lines(ranks: ranks)
        case .pp: return try ExplainPipeline.lines(ranks: ranks)
        case .cp: return try ExplainContextParallel.lines(ranks: ranks)
        case .zero: return try ExplainZeRO.lines(ranks: ranks)
        case .ep: return try ExplainExpertParallel.lines(ranks: ranks)
        }
    }
}
