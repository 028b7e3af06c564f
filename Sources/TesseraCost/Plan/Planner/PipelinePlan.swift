import TesseraTopology

/// A layout's pipeline as the planner uses it: the blocks of each virtual
/// stage (the runtime's `PipelinePartition`) and the schedule the runtime
/// would run (`PipelineSchedules.make`), from which the activations in
/// flight on each rank and the bubble are read, not assumed.
public struct PipelinePlan: Sendable {
    /// The blocks (indices) of each virtual stage 0 ..< pp·chunks (one entry at pp 1).
    public let stageRanges: [Range<Int>]
    /// The schedule (nil at pp 1: one micro-batch's activations at a time).
    public let schedule: PipelineSchedule?

    /// The plan of `layout` for `shape`; throws the runtime's `ConfigError` for an impossible split or schedule.
    public init(_ shape: ModelShape, layout: Layout) throws {
        guard layout.pp > 1 else {
            stageRanges = [0..<shape.layers]; schedule = nil; return
        }
        stageRanges = try PipelinePartition.stages(layout, model: shape)
        schedule = try PipelineSchedules.make(layout.schedule, ranks: layout.pp, microBatches: layout.microBatches,
                                              chunks: layout.ppChunks)
    }

    /// Pipeline ranks.
    public var ranks: Int { schedule?.ranks ?? 1 }

    /// Virtual stages held by pipeline rank `r` (r, r + p, r + 2p, …).
    public func stages(ofRank r: Int) -> [Int] { Array(stride(from: r, to: stageRanges.count, by: ranks)) }

    /// Blocks pipeline rank `r` holds, and of them mixtures of experts in `shape`.
    public func blockCounts(ofRank r: Int, _ shape: ModelShape) -> (blocks: Int, experts: Int) {
        stages(ofRank: r).reduce((0, 0)) { ($0.0 + stageRanges[$1].count, $0.1 + shape.expertBlocks(in: stageRanges[$1])) }
    }

    /// Largest sum of `bytes(stage)` over the micro-batches rank `r` holds at
    /// once: a forward keeps its stage's activations until that micro-batch's
    /// backward (input gradient) on the stage, as the executor does. At pp 1 one micro-batch.
    public func peakLive(rank r: Int, bytes: (Int) -> Double) -> Double {
        guard let schedule else { return bytes(0) }
        var live = 0.0, peak = 0.0
        for a in schedule.actions[r] {
            if a.kind == .forward { live += bytes(a.stage); peak = max(peak, live) }
            if a.kind == .backward { live -= bytes(a.stage) }
        }
        return peak
    }

    /// Largest number of micro-batches rank `r` holds at once, in units of
    /// its own stage (a chunk counts 1/chunks): p for 1F1B's first rank,
    /// 1 + (p−1)/(p·v) times p for the interleaved schedule's.
    public func inFlight(rank r: Int) -> Double {
        guard let schedule else { return 1 }
        return peakLive(rank: r) { _ in 1 / Double(schedule.chunks) }
    }
}

extension Layout {
    /// The same layout without a pipeline (pp 1, its schedule settings reset).
    var withoutPipeline: Layout {
        var l = self
        (l.pp, l.ppChunks, l.ppLayers, l.schedule) = (1, 1, nil, Layout().schedule)
        return l
    }
}
