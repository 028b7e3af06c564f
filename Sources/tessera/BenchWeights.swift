import ArgumentParser
import Foundation
import Tessera

struct BenchWeights: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weights",
        abstract: "Validation loss and perplexity of a byte-level model per weight format (generate --weights).",
        discussion: "The last 10% of --data, scored in windows of the model's context, as train's validation split.")

    @Option(help: "A Tessera checkpoint (train --checkpoint) or a GPT-2 export.") var checkpoint: String
    @Option(help: "The text file the model was trained on (its validation split is scored).") var data: String
    @Option(help: "Comma-separated weight formats: fp32, bf16, int8.") var weights = "fp32,bf16,int8"
    @Option(parsing: .unconditional, help: "Most windows scored (default: the whole split).") var windows: Int?
    @Option(parsing: .unconditional, help: "Kernel threads.") var threads = 1

    func run() throws {
        try reportingErrors {
            let formats: [WeightFormat] = try parseNames(weights, flag: "--weights")
            if let windows, windows < 1 { throw ConfigError("--windows must be at least 1, got \(windows)") }
            guard (1...4096).contains(threads) else { throw ConfigError("--threads must be in 1...4096, got \(threads)") }
            let model = try ModelWeights.load(checkpoint)
            if model.config.tokenizerSha256 != nil {
                throw ConfigError("bench weights scores byte-level models; \(checkpoint) was trained through a tokenizer")
            }
            let dataset = try TokenDataset.load(path: data, seqLen: model.config.model.seqLen)
            Compute.threads = threads
            let rows = try WeightFormatQuality.run(model, data: dataset, formats: formats, maxWindows: windows ?? .max)
            let base = rows.first { $0.format == .fp32 }
            for r in rows {
                say(String(format: "tessera weights=%@ model=%@ validation-tokens=%d loss=%.5f perplexity=%.4f%@",
                           r.format.rawValue, model.config.model.summary, r.tokens, r.loss, r.perplexity,
                           base.map { String(format: " vs-fp32=%+.3f%%", 100 * (r.perplexity / $0.perplexity - 1)) } ?? ""))
            }
        }
    }
}
