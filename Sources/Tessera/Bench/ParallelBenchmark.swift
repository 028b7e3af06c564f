import Foundation
import Synchronization

/// Throughput of a layout (dp × tp ± sp) on the benchmark shape, with the
/// share of each step rank 0 spends inside tensor- and data-parallel
/// collectives (waiting for the other ranks included, as in a profiler's
/// "communication" bar).
public enum ParallelBenchmark {
    /// What one layout measured.
    public struct Result: Sendable {
        public var layout: String
        public var ranks: Int
        public var medianStepSeconds: Double
        public var tokensPerSecond: Double
        /// Seconds in collectives / seconds in steps, over the timed steps.
        public var commShare: Double
    }

    /// `base` on one rank with the layout `name` ("dp2", "tp2+sp", "dp2xtp2"; `Layout(name:)`), validated.
    public static func layout(_ name: String, base: TrainConfig) throws -> TrainConfig {
        var c = base.oneRank
        c.layout = try Layout(name: name, base: c.layout)
        try c.validate()
        return c
    }

    /// Runs `steps` timed steps (after one warm-up step) of `config`'s layout on threads.
    public static func run(config: TrainConfig, steps: Int) throws -> Result {
        let (times, comm) = try timedSteps(config, steps: steps, before: { _, groups in groups.resetCounts() },
                                           after: { _, groups in groups.commSeconds })
        let median = times.sorted()[steps / 2]
        return Result(layout: config.layoutName, ranks: config.worldSize, medianStepSeconds: median,
                      tokensPerSecond: Double(config.batch * config.model.seqLen) / median,
                      commShare: comm / times.reduce(0, +))
    }

    /// One warm-up step, then `before` on every rank, `steps` timed steps and
    /// `after` on every rank (collectives allowed): returns world rank 0's
    /// step times and its `after` value.
    static func timedSteps<T: Sendable>(_ config: TrainConfig, steps: Int,
                                        before: @escaping @Sendable (Trainer, RankGroups) -> Void,
                                        after: @escaping @Sendable (Trainer, RankGroups) throws -> T)
        throws -> (times: [Double], value: T) {
        var c = config
        c.steps = steps + 1
        let run = c
        let data = try TokenDataset.builtIn(seqLen: run.model.seqLen)
        let measured = Mutex<(times: [Double], value: T)?>(nil)
        try Launcher.run(config: run, backend: .threads) { groups in
            let trainer = try Trainer(config: run, data: data, groups: groups)
            _ = try trainer.trainStep()
            before(trainer, groups)
            let times = try (0..<steps).map { _ in try trainer.trainStep().seconds }
            let value = try after(trainer, groups)
            if groups.worldRank == 0 { measured.withLock { $0 = (times, value) } }
        }
        return measured.withLock { $0 }!
    }
}
