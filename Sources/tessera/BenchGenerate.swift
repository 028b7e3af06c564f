import ArgumentParser
import Foundation
import Tessera

struct BenchGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generation tokens/s and per-token latency (p50, p99) vs batch and prompt length at tp1, tp2, pp2.",
        discussion: """
        The benchmark width (6 layers, d 512, 8 heads, vocab 256, context 1280; with --arch llama 4 kv heads, \
        SwiGLU 1408, untied head), greedy, end to end. scripts/bench_generate.sh runs it beside Hugging Face \
        transformers on the same weights (--export-model; ARCH=llama for the Llama model).
        """)

    @Option(help: "Weights to run (a Tessera checkpoint or GPT-2 export; default: the benchmark model from --seed).")
    var checkpoint: String?
    @Option(help: "Write the benchmark model as a Hugging Face export to this directory and exit.") var exportModel: String?
    @Option(help: "The benchmark model's family when no --checkpoint is given: gpt2 or llama.") var arch = "gpt2"
    @Option(help: "Comma-separated layouts: tpN, ppN or tpNxppM.") var layouts = "tp1,tp2,pp2"
    @Option(help: "Comma-separated batch sizes.") var batches = "1,8,32"
    @Option(name: .customLong("prompt-lengths"), help: "Comma-separated prompt lengths in bytes.") var promptLengths = "16,256,1024"
    @Option(parsing: .unconditional, help: "Bytes generated per prompt.") var tokens = 32
    @Option(parsing: .unconditional, help: "Kernel threads of a one-rank layout (ranks as threads use one each).") var threads = 1
    @Option(parsing: .unconditional, help: "Seed of the benchmark model's weights.") var seed = 1
    @Option(help: "Comma-separated weight formats the products read: fp32, bf16, int8.") var weights = "fp32"
    @Flag(help: "Also time today's full-recompute sampler (batch 1) at each prompt length.") var recompute = false

    static func numbers(_ text: String, _ flag: String) throws -> [Int] {
        try text.split(separator: ",").map {
            guard let n = Int($0), n >= 1 else { throw ConfigError("\(flag) takes positive integers, got '\($0)'") }
            return n
        }
    }

    static func layout(_ name: String) throws -> (tp: Int, pp: Int) {
        var tp = 1, pp = 1
        for part in name.split(whereSeparator: { $0 == "x" || $0 == "×" }) {
            guard let n = Int(part.dropFirst(2)), n >= 1, ["tp", "pp"].contains(part.prefix(2)) else {
                throw ConfigError("--layouts: '\(name)' is not tpN, ppN or tpNxppM")
            }
            if part.hasPrefix("tp") { tp = n } else { pp = n }
        }
        return (tp, pp)
    }

    func run() throws {
        try reportingErrors {
            guard (1...4096).contains(threads) else { throw ConfigError("--threads must be in 1...4096, got \(threads)") }
            let layouts = try layouts.split(separator: ",").map { try Self.layout(String($0)) }
            let batches = try Self.numbers(batches, "--batches"), lengths = try Self.numbers(promptLengths, "--prompt-lengths")
            guard let family = ModelArch(rawValue: arch) else { throw ConfigError("--arch must be gpt2 or llama, got '\(arch)'") }
            if checkpoint != nil && arch != "gpt2" {
                throw ConfigError("--arch picks the benchmark model; a --checkpoint brings its own family, so give one or the other")
            }
            let weights = try checkpoint.map(ModelWeights.load)
                ?? GenerateBenchmark.weights(seed: UInt64(max(0, seed)), arch: family)
            if let exportModel {
                try HFExport.write(weights, to: exportModel)
                return say("exported the benchmark model (\(weights.config.model.summary)) to \(exportModel)")
            }
            Compute.threads = threads
            let formats: [WeightFormat] = try parseNames(self.weights, flag: "--weights")
            for (tp, pp) in layouts { for batch in batches { for length in lengths { for format in formats {
                let r = try GenerateBenchmark.run(weights, tp: tp, pp: pp, batch: batch, promptLength: length,
                                                  tokens: tokens, weightFormat: format)
                say(String(format: "tessera layout=tp%dxpp%d weights=%@ batch=%d prompt=%d tokens=%d tok/s=%.1f p50=%.2fms "
                           + "p99=%.2fms cache-rank0=%.1fMiB (%d B/token) stage-wait=%.1f%% cpu-tok/s=%.1f decode-cpu-p50=%.2fms",
                           tp, pp, format.rawValue, batch, length, tokens, r.tokensPerSecond, r.p50 * 1e3, r.p99 * 1e3,
                           Double(r.cacheBytes) / 1_048_576, r.cacheBytesPerToken, 100 * r.waitShare, r.tokensPerCPUSecond,
                           r.decodeStepCPU * 1e3))
            } } } }
            for length in lengths where recompute {
                let s = try GenerateBenchmark.recomputeSecondsPerToken(weights, promptLength: length, tokens: tokens)
                say(String(format: "full-recompute batch=1 prompt=%d tokens=%d tok/s=%.1f per-token=%.2fms",
                           length, tokens, 1 / s, s * 1e3))
            }
        }
    }
}
