import Foundation
import Synchronization
import TesseraTopology
import TesseraModel
import TesseraRuntime

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

    /// The data-parallel gradient sync overlapped with backward against the
    /// same sync after backward, in one launch on `backend` (threads, or the
    /// MPI job this process belongs to): after one warm-up step, `steps`
    /// steps of each, alternating, so both see the same machine. Returns
    /// (overlapped, after backward) on world rank 0, nil on other processes.
    /// The comm share counts only the time rank 0 is blocked in collectives
    /// (the exposed part: waiting for a started all-reduce, not its run).
    public static func overlapComparison(config: TrainConfig, steps: Int, backend: Launcher.Backend)
        throws -> (overlapped: Result, afterBackward: Result)? {
        var c = config
        c.steps = 2 * steps + 1
        let run = c
        let data = try TokenDataset.builtIn(seqLen: run.model.seqLen)
        let measured = Mutex<[(times: [Double], comm: Double)]?>(nil)
        try Launcher.run(config: run, backend: backend) { groups in
            let trainer = try Trainer(config: run, data: data, groups: groups)
            _ = try trainer.trainStep()
            var out = [(times: [Double](), comm: 0.0), (times: [Double](), comm: 0.0)]
            for i in 0..<(2 * steps) {
                trainer.gradientSync.overlap = i % 2 == 0
                groups.resetCounts()
                out[i % 2].times.append(try trainer.trainStep().seconds)
                out[i % 2].comm += groups.commSeconds
            }
            if groups.worldRank == 0 { measured.withLock { $0 = out } }
        }
        guard let out = measured.withLock({ $0 }) else { return nil }
        let results = out.map { m in
            let median = m.times.sorted()[steps / 2]
            return Result(layout: run.layoutName, ranks: run.worldSize, medianStepSeconds: median,
                          tokensPerSecond: Double(run.batch * run.model.seqLen) / median,
                          commShare: m.comm / m.times.reduce(0, +))
        }
        return (results[0], results[1])
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
