extension PipelineSchedules {
    /// Forwards only (evaluation, no gradients): each rank runs its stages'
    /// forwards micro-batch by micro-batch, chunk by chunk, receiving before
    /// and sending after as a training schedule does. A forward of (m, s)
    /// depends on (m, s − 1), which its rank runs earlier in the same
    /// (micro-batch, chunk) order, so the list cannot deadlock.
    public static func forwardOnly(ranks p: Int, microBatches m: Int, chunks v: Int = 1) -> PipelineSchedule {
        let compute = (0..<p).map { r in
            (0..<m).flatMap { mb in (0..<v).map { c in PipelineAction(.forward, microBatch: mb, stage: c * p + r) } }
        }
        return PipelineSchedule(name: "forward-only", ranks: p, microBatches: m, chunks: v, splitBackward: false,
                                actions: withCommunication(compute, ranks: p, stages: p * v))
    }
}
