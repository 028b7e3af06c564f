import TesseraTopology

/// What the layout search computes once and reuses across candidates:
/// pipeline plans (partition and schedule) by pp, micro-batches, schedule and
/// chunks, and simulated pipeline makespans by layout without its ZeRO stage
/// (ZeRO changes memory and the gradient sync, not the pipeline), micro-batch
/// size and recompute. One search uses it from one thread.
public final class PlanCache: @unchecked Sendable {
    var pipelines: [String: PipelinePlan] = [:]
    var makespans: [String: (seconds: Double, bubble: Double)] = [:]

    public init() {}

    /// The pipeline plan of `layout` for `shape`, made once per key.
    package func pipeline(_ shape: ModelShape, layout: Layout) throws -> PipelinePlan {
        let key = "\(layout.pp),\(layout.microBatches),\(layout.schedule.rawValue),\(layout.ppChunks),"
            + "\(layout.ppLayers ?? [])"
        if let plan = pipelines[key] { return plan }
        let plan = try PipelinePlan(shape, layout: layout)
        pipelines[key] = plan
        return plan
    }

    /// The key of a pipeline's makespan: everything that sets its stage costs.
    static func makespanKey(_ layout: Layout, setup: TrainingSetup) -> String {
        var l = layout
        l.zero = 0
        return "\(l.name),\(l.microBatches),\(l.order),\(setup.microBatch),\(setup.recompute.rawValue)"
    }
}
