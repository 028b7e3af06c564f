import TesseraTopology

extension PipelineBenchmark {
    /// The runs `tessera bench pipeline` compares, on the benchmark shape
    /// (`TrainBenchmark.defaultConfig`) with a global batch of `batch`
    /// sequences: a data-parallel reference over `layout.pp` ranks, and
    /// `layout`'s pipeline (its pp and micro-batches) under each of
    /// `schedules`, interleaved with 2 chunks per rank. Each is validated
    /// as `train` validates it; throws the first `ConfigError`.
    public static func configs(layout: Layout, batch: Int, schedules: [PipelineScheduleKind]) throws
        -> (reference: TrainConfig, pipelines: [TrainConfig]) {
        var base = TrainBenchmark.defaultConfig
        base.batch = batch
        var reference = base
        reference.dp = layout.pp
        try reference.validate()
        return (reference, try schedules.map { kind in
            var c = base
            c.pp = layout.pp; c.schedule = kind; c.microBatches = layout.microBatches
            c.ppChunks = kind.takesChunks ? 2 : 1
            try c.validate()
            return c
        })
    }
}
