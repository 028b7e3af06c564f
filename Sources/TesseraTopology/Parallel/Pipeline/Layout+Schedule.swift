import TesseraSupport
import TesseraComm

extension Layout {
    /// Throws a `ConfigError` naming the value and what is valid for a
    /// pipeline schedule Tessera does not run: what `PipelineSchedules.make`
    /// refuses (chunks without interleaved, interleaved micro-batches not
    /// divisible by pp), naive with more than one micro-batch (it runs the
    /// whole batch as one), interleaved with one chunk per rank (that is
    /// 1F1B). `tessera train`, `verify`, `schedule` and the planner all check
    /// a pipeline here (through `Topology.validate` or directly).
    public func validateSchedule() throws {
        let (p, m, v) = (pp, microBatches, ppChunks)
        _ = try PipelineSchedules.make(schedule, ranks: p, microBatches: m, chunks: v)
        if schedule == .naive && m != 1 {
            throw ConfigError("schedule naive runs the whole batch as one micro-batch (layer-wise model parallelism); "
                              + "use --micro-batches 1, or gpipe/1f1b to pipeline \(m) micro-batches")
        }
        if schedule == .interleaved && v == 1 {
            throw ConfigError("schedule interleaved needs pp-chunks ≥ 2 virtual stages per rank (with 1 it is 1f1b); "
                              + "add --pp-chunks 2 or use --schedule 1f1b")
        }
    }

    /// Throws when a pipeline step needs more stage messages than the tags
    /// MPI guarantees: a limit of Tessera's own pipeline runtime, checked by
    /// `TrainConfig.validate` (train, verify) and not by `Topology.validate`,
    /// so it never bounds a plan for another cluster.
    public func requireMessageTags() throws {
        let (p, m, v) = (pp, microBatches, ppChunks)
        guard p > 1, 2 * p * v * m - 1 > MessageTag.max else { return }
        throw ConfigError("pp \(p) × chunks \(v) × micro-batches \(m) = \(p * v * m) stage messages per step exceed "
                          + "MPI's tag space (at most \((MessageTag.max + 1) / 2)); use fewer micro-batches")
    }
}
