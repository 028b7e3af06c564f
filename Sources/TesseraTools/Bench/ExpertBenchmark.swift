import Foundation
import Synchronization
import TesseraKernels
import TesseraTopology
import TesseraRuntime

/// Mixture of experts against the dense model of equal active parameters
/// (`tessera bench experts`): tokens/s on one rank and under expert
/// parallelism, the share of the step in the experts' all-to-alls, and how
/// balanced the routing stays over a training run with and without the
/// load-balancing loss.
public enum ExpertBenchmark {
    /// The speed shape: 4 layers, d 256, 4 heads, T 128, batch 8; E 8, top-2,
    /// experts of width 2d, so a token's two experts hold 2·(2·2d·d) = 8d²
    /// weights, the dense MLP's d → 4d → d. Dropless (capacity 0).
    public static func speedConfigs() -> (dense: TrainConfig, experts: TrainConfig) {
        var dense = TrainConfig()
        dense.model = GPTConfig(vocab: 256, seqLen: 128, layers: 4, dModel: 256, heads: 4, dropout: 0)
        dense.batch = 8
        dense.threads = 0
        var moe = dense
        moe.model.experts = 8; moe.model.topK = 2; moe.model.expertHidden = 2 * dense.model.dModel
        return (dense, moe)
    }

    /// One layout's speed.
    public struct Speed: Sendable {
        public var layout: String, experts: Bool
        public var medianStepSeconds: Double, tokensPerSecond: Double
        /// Rank 0's share of the step in the expert-parallel all-to-alls, and in every collective.
        public var allToAllShare: Double, commShare: Double
    }

    /// One warm-up step, then `steps` timed steps of `config` on threads; rank 0's figures.
    public static func speed(_ config: TrainConfig, steps: Int) throws -> Speed {
        var c = config
        c.steps = steps + 1
        let run = c
        let data = try TokenDataset.builtIn(seqLen: run.model.seqLen)
        let out = Mutex<Speed?>(nil)
        if run.worldSize == 1 { Compute.threads = run.kernelThreads }
        try Launcher.run(config: run, backend: .threads) { groups in
            let trainer = try Trainer(config: run, data: data, groups: groups)
            _ = try trainer.trainStep()
            groups.resetCounts()
            let times = try (0..<steps).map { _ in try trainer.trainStep().seconds }
            guard groups.worldRank == 0 else { return }
            let median = times.sorted()[steps / 2], total = times.reduce(0, +)
            out.withLock {
                $0 = Speed(layout: run.layoutName, experts: run.model.hasExperts, medianStepSeconds: median,
                           tokensPerSecond: Double(run.batch * run.model.seqLen) / median,
                           allToAllShare: groups.ep.group.seconds / total, commShare: groups.commSeconds / total)
            }
        }
        return out.withLock { $0! }
    }

    /// The balance shape: 2 layers, d 64, T 64, batch 8, E 8, top-2, dropless, lr 2e-3.
    public static func balanceConfig(auxLoss: Float, steps: Int) -> TrainConfig {
        var c = TrainConfig()
        c.model = GPTConfig(vocab: 256, seqLen: 64, layers: 2, dModel: 64, heads: 4, dropout: 0)
        c.model.experts = 8; c.model.topK = 2; c.model.auxLossCoeff = auxLoss
        c.batch = 8
        c.steps = steps
        c.warmup = min(40, steps / 10)
        return c
    }

    /// Trains `config` on one rank; returns each step's busiest-expert load
    /// over the mean (the worse of the two blocks) and the last step's loss.
    public static func balance(_ config: TrainConfig) throws -> (maxOverMean: [Double], loss: Double) {
        let trainer = try Trainer(config: config, data: try TokenDataset.builtIn(seqLen: config.model.seqLen))
        var load: [Double] = [], loss = 0.0
        for _ in 0..<config.steps {
            let r = try trainer.trainStep()
            load.append(r.experts!.maxOverMean.max() ?? 0)
            loss = r.loss
        }
        return (load, loss)
    }
}
