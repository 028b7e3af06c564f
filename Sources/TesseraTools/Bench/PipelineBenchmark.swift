import Foundation
import TesseraTopology
import TesseraRuntime

/// Throughput of a pipeline layout with each schedule, and its measured
/// bubble beside the simulator's prediction from the same run's measured
/// action costs: the check that what the simulator draws is what runs.
public enum PipelineBenchmark {
    public struct Result: Sendable {
        public var layout: String
        public var tokensPerSecond: Double
        /// Idle share of the last timed step, from its trace.
        public var measuredBubble: Double
        /// The simulator's bubble for this schedule with the measured mean cost of each (stage, kind).
        public var predictedBubble: Double
        /// The traced step's timeline.
        public var timeline: Timeline
    }

    /// Runs `steps` timed steps (after a warm-up) of `config` (pp > 1) on threads, tracing.
    public static func run(config: TrainConfig, steps: Int) throws -> Result {
        let (times, traced) = try ParallelBenchmark.timedSteps(
            config, steps: steps, before: { trainer, _ in trainer.pipeline!.tracing = true },
            after: { trainer, groups -> Timeline? in
                guard groups.dp.rank == 0 && groups.tp.rank == 0 else { return nil }
                return try PipelineTrace.gather(trainer.pipeline!, pp: groups.pp)
            })
        let timeline = traced!
        let costs = PipelineTrace.meanCosts(timeline)
        let schedule = try PipelineSchedules.make(config.schedule, ranks: config.pp, microBatches: config.microBatches,
                                                  chunks: config.ppChunks)
        let predicted = try ScheduleSimulator.run(schedule) { costs[PipelineAction($0.kind, microBatch: 0, stage: $0.stage)] ?? 0 }
        return Result(layout: config.layoutName,
                      tokensPerSecond: Double(config.batch * config.model.seqLen) / times.sorted()[steps / 2],
                      measuredBubble: timeline.bubbleFraction, predictedBubble: predicted.bubbleFraction,
                      timeline: timeline)
    }
}
