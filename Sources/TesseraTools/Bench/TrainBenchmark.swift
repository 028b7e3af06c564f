import Foundation
import Synchronization
import TesseraKernels
import TesseraTopology
import TesseraRuntime

/// Measures training throughput of one rank on a fixed shape, the figures
/// BENCHMARKS.md records: median step time, tokens/s, achieved GFLOP/s and
/// MFU against the matrix-product peak of the run's precision, measured in
/// the same process.
public struct TrainBenchmark {
    /// What one benchmark run measured.
    public struct Result: Sendable {
        public var threads: Int
        public var precision: Precision
        public var parameters: Int
        public var medianStepSeconds: Double
        public var tokensPerSecond: Double
        public var gflops: Double
        /// Matrix-product rate at `precision` on `threads` threads (`ProductRate.measure`).
        public var peakGflops: Double
        public var peakResidentBytes: Int?
        public var mfu: Double { gflops / peakGflops }
    }

    /// The benchmark shape of the issue and of ../shared/peers/torch_gpt.py.
    public static var defaultConfig: TrainConfig {
        var c = TrainConfig()
        c.model = GPTConfig(vocab: 256, seqLen: 256, layers: 6, dModel: 512, heads: 8, dropout: 0)
        c.batch = 8
        c.warmup = 0
        return c
    }

    /// Runs `steps` timed steps (after one warm-up step) of `config` on `threads` threads,
    /// reporting each finished step through `progress`.
    public static func run(config: TrainConfig, threads: Int, steps: Int,
                           progress: @escaping @Sendable (String) -> Void = { _ in }) throws -> Result {
        Compute.threads = threads
        let peak = ProductRate.measure(threads: threads, precision: config.precision)
        var c = config
        c.steps = steps + 1
        let data = try TokenDataset.builtIn(seqLen: c.model.seqLen)
        let run = c, measured = Mutex<[Double]>([])
        try Launcher.run(config: run, backend: .threads) { groups in  // one rank; through the launcher for --trace
            let trainer = try Trainer(config: run, data: data, groups: groups)
            let times = try (0...steps).map { k in
                let seconds = try trainer.trainStep().seconds
                progress(String(format: "bench train: step %d/%d, %.0f ms", k + 1, steps + 1, seconds * 1e3))
                return seconds
            }
            measured.withLock { $0 = times }
        }
        let median = measured.withLock { $0 }.dropFirst().sorted()[steps / 2]
        let tokens = c.batch * c.model.seqLen
        return Result(threads: threads, precision: config.precision, parameters: c.model.parameterCount, medianStepSeconds: median,
                      tokensPerSecond: Double(tokens) / median,
                      gflops: c.model.trainingFlops(tokens: tokens) / median / 1e9,
                      peakGflops: peak, peakResidentBytes: ProcessMemory.peakResidentBytes)
    }
}
