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

    /// Parses a layout name such as "dp2", "tp2+sp" or "dp2×tp2" (also "dp2xtp2") into `base`.
    public static func layout(_ name: String, base: TrainConfig) throws -> TrainConfig {
        var c = base
        c.dp = 1; c.tp = 1; c.sp = false
        var rest = Substring(name)
        if rest.hasSuffix("+sp") { c.sp = true; rest = rest.dropLast(3) }
        for part in rest.split(whereSeparator: { $0 == "x" || $0 == "×" }) where part != "serial" {
            guard let n = Int(part.dropFirst(2)), n >= 1, part.hasPrefix("dp") || part.hasPrefix("tp") else {
                throw ConfigError("layout '\(name)': '\(part)' is not dpN or tpN; layouts look like dp2, tp2+sp, dp2xtp2")
            }
            if part.hasPrefix("dp") { c.dp = n } else { c.tp = n }
        }
        try c.validate()
        return c
    }

    /// Runs `steps` timed steps (after one warm-up step) of `config`'s layout on threads.
    public static func run(config: TrainConfig, steps: Int) throws -> Result {
        var timed = config
        timed.steps = steps + 1
        let c = timed
        let data = try TokenDataset.builtIn(seqLen: c.model.seqLen)
        let measured = Mutex<(times: [Double], comm: Double)>(([], 0))
        try Launcher.run(config: c, backend: .threads) { groups in
            let trainer = try Trainer(config: c, data: data, groups: groups)
            _ = try trainer.trainStep()
            groups.resetCounts()
            var times: [Double] = []
            for _ in 0..<steps { times.append(try trainer.trainStep().seconds) }
            if groups.worldRank == 0 { measured.withLock { $0 = (times, groups.commSeconds) } }
        }
        let (times, comm) = measured.withLock { $0 }
        let median = times.sorted()[steps / 2]
        return Result(layout: c.layoutName, ranks: c.worldSize, medianStepSeconds: median,
                      tokensPerSecond: Double(c.batch * c.model.seqLen) / median,
                      commShare: comm / times.reduce(0, +))
    }
}
