import Foundation

/// Measures training throughput of one rank on a fixed shape, the figures
/// BENCHMARKS.md records: median step time, tokens/s, achieved GFLOP/s and
/// MFU against the sgemm peak measured in the same process.
public struct TrainBenchmark {
    /// What one benchmark run measured.
    public struct Result: Sendable {
        public var threads: Int
        public var parameters: Int
        public var medianStepSeconds: Double
        public var tokensPerSecond: Double
        public var gflops: Double
        public var sgemmPeakGflops: Double
        public var peakResidentBytes: Int?
        public var mfu: Double { gflops / sgemmPeakGflops }
    }

    /// The benchmark shape of the issue and of ../shared/peers/torch_gpt.py.
    public static var defaultConfig: TrainConfig {
        var c = TrainConfig()
        c.model = GPTConfig(vocab: 256, seqLen: 256, layers: 6, dModel: 512, heads: 8, dropout: 0)
        c.batch = 8
        c.warmup = 0
        return c
    }

    /// Sustained sgemm rate on `threads` threads: the median of several
    /// n×n×n products (n = 2048) through the same `BLAS.gemm` the model uses.
    public static func sgemmPeak(threads: Int, n: Int = 2048, repeats: Int = 5) -> Double {
        let saved = Compute.threads
        Compute.threads = threads
        defer { Compute.threads = saved }
        let a = Tensor([n, n]), b = Tensor([n, n]), c = Tensor([n, n])
        for i in 0..<a.count { a[i] = Float(i % 7) * 0.01; b[i] = Float(i % 5) * 0.01 }
        var times: [Double] = []
        for _ in 0...repeats {
            let t0 = DispatchTime.now().uptimeNanoseconds
            BLAS.gemm(transA: false, transB: false, m: n, n: n, k: n, a: a.data, lda: n, b: b.data, ldb: n,
                      c: c.data, ldc: n)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        let median = times.dropFirst().sorted()[repeats / 2]
        return 2 * Double(n) * Double(n) * Double(n) / median / 1e9
    }

    /// Runs `steps` timed steps (after one warm-up step) of `config` on `threads` threads.
    public static func run(config: TrainConfig, threads: Int, steps: Int) throws -> Result {
        Compute.threads = threads
        let peak = sgemmPeak(threads: threads)
        var c = config
        c.steps = steps + 1
        let data = try TokenDataset.builtIn(seqLen: c.model.seqLen)
        let trainer = try Trainer(config: c, data: data)
        var times: [Double] = []
        for _ in 0...steps { times.append(try trainer.trainStep().seconds) }
        let median = times.dropFirst().sorted()[steps / 2]
        let tokens = Double(trainer.tokensPerStep)
        return Result(threads: threads, parameters: c.model.parameterCount, medianStepSeconds: median,
                      tokensPerSecond: tokens / median,
                      gflops: c.model.trainingFlops(tokens: trainer.tokensPerStep) / median / 1e9,
                      sgemmPeakGflops: peak, peakResidentBytes: ProcessMemory.peakResidentBytes)
    }
}
