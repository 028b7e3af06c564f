import Foundation
import Synchronization
import TesseraKernels
import TesseraTopology
import TesseraCost
import TesseraRuntime

/// Per-rank memory of each ZeRO stage on N data-parallel thread ranks,
/// measured from the buffers a rank holds after one training step
/// (`Trainer.memoryHeld`) beside `ZeROMemory`'s formula: the numbers behind
/// `tessera bench memory`.
public enum ZeROMemoryBenchmark {
    /// One (N, stage) row, in bytes per rank.
    public struct Row: Sendable {
        public var ranks: Int, stage: Int
        public var measured: MemoryBreakdown
        public var formula: MemoryBreakdown
        /// Measured model states (weights + gradients + moments + gathered) / formula's.
        public var ratio: Double { measured.modelStates / formula.modelStates }
    }

    /// The shape measured: small enough that 8 thread ranks train a step in seconds.
    public static var defaultConfig: TrainConfig {
        var c = TrainConfig()
        c.model = GPTConfig(vocab: 256, seqLen: 64, layers: 4, dModel: 256, heads: 4, dropout: 0)
        c.batch = 8
        c.warmup = 0
        c.steps = 1
        return c
    }

    /// The formula's breakdown for `config` (pp = tp = 1) at its dp and stage, with the bf16 working copies
    /// (`bf16Bytes` per matrix element) below stage 3.
    public static func formula(_ config: TrainConfig) -> MemoryBreakdown {
        let m = config.model, (V, T, L, d) = (Double(m.vocab), Double(m.seqLen), Double(m.layers), Double(m.dModel))
        let block = 12 * d * d + 13 * d
        var f = ZeROMemory.modelStates(parameters: Double(m.parameterCount), ranks: Double(config.dp),
                                       stage: config.layout.zero,
                                       gathered: ZeROMemory.gatheredBytes(outer: V * d + T * d + 2 * d, block: block,
                                                                          prefetch: true))
        if config.precision == .bf16 && config.layout.zero < 3 {
            f.weights += (MatrixEngine.nativeBF16 ? 2 : 4) * (12 * L * d * d + V * d)
        }
        return f
    }

    /// Trains one step of `config` on threads and returns rank 0's measured breakdown beside the formula.
    public static func measure(_ config: TrainConfig) throws -> Row {
        let data = try TokenDataset.builtIn(seqLen: config.model.seqLen)
        let held = Mutex<MemoryBreakdown?>(nil)
        try Launcher.run(config: config, backend: .threads) { groups in
            let trainer = try Trainer(config: config, data: data, groups: groups)
            _ = try trainer.trainStep()
            if groups.worldRank == 0 { held.withLock { $0 = trainer.memoryHeld } }
        }
        return Row(ranks: config.dp, stage: config.layout.zero, measured: held.withLock { $0 }!,
                   formula: formula(config))
    }
}
