import ArgumentParser
import Foundation
import Tessera

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks that print figures for BENCHMARKS.md.",
        subcommands: [BenchTrain.self])
}

struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Training throughput on the benchmark shape (6 layers, d=512, 8 heads, T=256, batch 8, vocab 256).")

    @Option(help: "Kernel threads.") var threads = 1
    @Option(help: "Timed steps (after one warm-up step).") var steps = 5
    @Option(help: "Transformer blocks.") var layers: Int?
    @Option(name: .customLong("d-model"), help: "Model width.") var dModel: Int?
    @Option(help: "Attention heads.") var heads: Int?
    @Option(name: .customLong("seq-len"), help: "Context length.") var seqLen: Int?
    @Option(help: "Batch in sequences.") var batch: Int?

    func run() throws {
        try reportingErrors {
            guard threads > 0 else { throw ConfigError("--threads must be positive, got \(threads)") }
            guard steps > 0 else { throw ConfigError("--steps must be positive, got \(steps)") }
            var c = TrainBenchmark.defaultConfig
            if let layers { c.model.layers = layers }
            if let dModel { c.model.dModel = dModel }
            if let heads { c.model.heads = heads }
            if let seqLen { c.model.seqLen = seqLen }
            if let batch { c.batch = batch }
            try c.validate()
            let r = try TrainBenchmark.run(config: c, threads: threads, steps: steps)
            say(String(format: "tessera params=%d threads=%d step=%.0fms tokens/s=%.0f GFLOP/s=%.1f sgemm-peak=%.1fGFLOP/s MFU=%.1f%% peak-mem=",
                       r.parameters, r.threads, r.medianStepSeconds * 1e3, r.tokensPerSecond, r.gflops,
                       r.sgemmPeakGflops, 100 * r.mfu) + (r.peakResidentBytes.map(ProcessMemory.format) ?? "n/a"))
        }
    }
}
