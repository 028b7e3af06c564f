import Foundation
import Synchronization
import TesseraTopology
import TesseraRuntime

/// Each ZeRO stage on a data-parallel layout (threads, or the MPI job this
/// process belongs to): tokens/s, the share of a step rank 0 is blocked in
/// collectives (the exposed part: a started gather or reduce-scatter counts
/// only while waited for), and the data-parallel volume per step in
/// elements against Ψ (all-reduce at stage 0; reduce-scatter + all-gather,
/// 2Ψ, at stages 1 and 2; 3Ψ at stage 3: two gathers and a reduce-scatter).
public enum ZeROBenchmark {
    /// One (stage, prefetch) run.
    public struct Result: Sendable {
        public var layout: String
        public var prefetch: Bool
        public var medianStepSeconds: Double, tokensPerSecond: Double, exposedCommShare: Double
        /// Elements per step on the dp group by operation ("allReduce", "allGather", "reduceScatter"), over Ψ.
        public var volumeOverPsi: [String: Double]
    }

    /// Runs one warm-up step then `steps` timed steps of `config` on `backend`; returns rank 0's figures (nil elsewhere).
    public static func run(config: TrainConfig, steps: Int, prefetch: Bool, backend: Launcher.Backend) throws -> Result? {
        var c = config
        c.steps = steps + 1
        let run = c, psi = Double(config.model.parameterCount)
        let data = try TokenDataset.builtIn(seqLen: run.model.seqLen)
        let out = Mutex<Result?>(nil)
        try Launcher.run(config: run, backend: backend) { groups in
            let trainer = try Trainer(config: run, data: data, groups: groups)
            for r in trainer.residencies { r.prefetch = prefetch }
            trainer.stageResidency?.prefetch = prefetch
            _ = try trainer.trainStep()
            groups.resetCounts()
            let times = try (0..<steps).map { _ in try trainer.trainStep().seconds }
            guard groups.worldRank == 0 else { return }
            let median = times.sorted()[steps / 2]
            let volume = groups.dp.tallies.filter { ["allReduce", "allGather", "reduceScatter"].contains($0.key) }
                .mapValues { Double($0.elements) / Double(steps) / psi }
            out.withLock {
                $0 = Result(layout: run.layoutName, prefetch: prefetch, medianStepSeconds: median,
                            tokensPerSecond: Double(run.batch * run.model.seqLen) / median,
                            exposedCommShare: groups.commSeconds / times.reduce(0, +), volumeOverPsi: volume)
            }
        }
        return out.withLock { $0 }
    }
}
