import Foundation
import Synchronization

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
        var timed = config
        timed.steps = steps + 1
        timed.trace = "memory"  // turns tracing on; nothing is written by trainStep
        let c = timed
        let data = try TokenDataset.builtIn(seqLen: c.model.seqLen)
        let measured = Mutex<(times: [Double], timeline: Timeline?)>(([], nil))
        try Launcher.run(config: c, backend: .threads) { groups in
            let trainer = try Trainer(config: c, data: data, groups: groups)
            var times: [Double] = []
            for _ in 0...steps { times.append(try trainer.trainStep().seconds) }
            guard groups.dp.rank == 0 && groups.tp.rank == 0 else { return }
            let timeline = try PipelineTrace.gather(trainer.pipeline!, pp: groups.pp)
            if groups.worldRank == 0 { measured.withLock { $0 = (Array(times.dropFirst()), timeline) } }
        }
        let (times, traced) = measured.withLock { $0 }
        let timeline = traced!
        let costs = PipelineTrace.meanCosts(timeline)
        let schedule = try PipelineSchedules.make(c.schedule, ranks: c.pp, microBatches: c.microBatches, chunks: c.ppChunks)
        let predicted = try ScheduleSimulator.run(schedule) { costs[PipelineAction($0.kind, microBatch: 0, stage: $0.stage)] ?? 0 }
        return Result(layout: c.layoutName, tokensPerSecond: Double(c.batch * c.model.seqLen) / times.sorted()[steps / 2],
                      measuredBubble: timeline.bubbleFraction, predictedBubble: predicted.bubbleFraction,
                      timeline: timeline)
    }
}
