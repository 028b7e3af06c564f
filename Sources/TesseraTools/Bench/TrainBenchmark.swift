import Foundation
import TesseraSupport
import Synchronization
import TesseraKernels
import TesseraTopology
import TesseraRuntime

/// Measures training throughput of one rank on a fixed shape, the figures
/// BENCHMARKS.md records: median step time, tokens/s, achieved GFLOP/s and
/// MFU against the matrix-product peak of the run's precision, measured in
/// the same process. MFU divides rates per CPU second (the step's FLOPs over
/// the CPU seconds the process spent on it, against the product peak per CPU
/// second): on a shared machine a peak measured in wall-clock time while
/// other jobs held the cores once made MFU read 111%.
public struct TrainBenchmark {
    /// What one benchmark run measured.
    public struct Result: Sendable {
        public var threads: Int
        public var precision: Precision
        public var parameters: Int
        public var medianStepSeconds: Double
        public var tokensPerSecond: Double
        /// Achieved GFLOP/s of wall-clock time (what tokens/s reflects).
        public var gflops: Double
        /// Matrix-product rate at `precision` on `threads` threads (`ProductRate.rates`), wall-clock.
        public var peakGflops: Double
        /// The step's median CPU seconds (all threads), and the product peak per CPU second.
        public var medianStepCPUSeconds: Double, peakGflopsPerCPUSecond: Double
        public var peakResidentBytes: Int?
        /// Model FLOPs per CPU second of the step over the product peak per CPU second.
        public var mfu: Double { flopsPerStep / medianStepCPUSeconds / 1e9 / peakGflopsPerCPUSecond }
        public var flopsPerStep: Double
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
        let peak = ProductRate.rates(threads: threads, precision: config.precision)
        var c = config
        c.steps = steps + 1
        let data = try TokenDataset.builtIn(seqLen: c.model.seqLen)
        let run = c, measured = Mutex<[(wall: Double, cpu: Double)]>([])
        try Launcher.run(config: run, backend: .threads) { groups in  // one rank; through the launcher for --trace
            let trainer = try Trainer(config: run, data: data, groups: groups)
            let times = try (0...steps).map { k in
                let c0 = ProcessCPUTime.seconds()
                let seconds = try trainer.trainStep().seconds
                let cpu = ProcessCPUTime.seconds() - c0
                progress(String(format: "bench train: step %d/%d, %.0f ms", k + 1, steps + 1, seconds * 1e3))
                return (wall: seconds, cpu: cpu)
            }
            measured.withLock { $0 = times }
        }
        let timed = measured.withLock { $0 }.dropFirst()
        let median = timed.map(\.wall).sorted()[steps / 2], medianCPU = timed.map(\.cpu).sorted()[steps / 2]
        let tokens = c.batch * c.model.seqLen, flops = c.model.trainingFlops(tokens: tokens)
        return Result(threads: threads, precision: config.precision, parameters: c.model.parameterCount, medianStepSeconds: median,
                      tokensPerSecond: Double(tokens) / median, gflops: flops / median / 1e9, peakGflops: peak.wall,
                      medianStepCPUSeconds: medianCPU, peakGflopsPerCPUSecond: peak.perCPUSecond,
                      peakResidentBytes: ProcessMemory.peakResidentBytes, flopsPerStep: flops)
    }
}
