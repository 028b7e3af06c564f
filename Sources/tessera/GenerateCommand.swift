import ArgumentParser
import Foundation
import Tessera

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Sample text from a checkpoint.")

    @Option(help: "Checkpoint directory (from tessera train --checkpoint).") var checkpoint: String
    @Option(help: "Text to continue.") var prompt = ""
    @Option(parsing: .unconditional, help: "Bytes to sample (train's --sample).") var sample = 200
    @Option(parsing: .unconditional, help: .hidden) var tokens: Int?
    @Option(parsing: .unconditional, help: "Softmax temperature (> 0).") var temperature: Float = 0.8
    @Option(name: .customLong("top-k"), parsing: .unconditional, help: "Sample among the k most likely bytes (0: all).") var topK = 40
    @Option(parsing: .unconditional, help: "Sampling seed.") var seed = 0

    /// Bytes to sample: `--sample`, or the older spelling `--tokens`.
    var count: Int { tokens ?? sample }

    func validate() throws {
        try reportingErrors {
            guard temperature > 0, temperature.isFinite else {
                throw ConfigError("--temperature must be a positive number, got \(temperature)")
            }
            guard topK >= 0 else { throw ConfigError("--top-k must be 0 (all) or positive, got \(topK)") }
            guard (0...1_048_576).contains(count) else { throw ConfigError("--sample must be in 0...1048576, got \(count)") }
            guard seed >= 0 else { throw ConfigError("--seed must be zero or positive, got \(seed)") }
        }
    }

    func run() throws {
        try reportingErrors {
            let ckpt = try Checkpoint.load(from: checkpoint, withOptimizer: false)
            Compute.threads = ProcessInfo.processInfo.activeProcessorCount
            let model = GPT(ckpt.config.model, seed: ckpt.config.seed)
            try ckpt.restore(into: model.parameters, source: checkpoint)
            let sampler = Sampler(model: model, temperature: temperature, topK: topK, seed: UInt64(seed))
            let out = FileHandle.standardOutput
            var text = TerminalText.Stream()
            out.write(Data(prompt.utf8))
            _ = try sampler.generate(prompt: Array(prompt.utf8), count: count) { out.write(Data(text.push($0).utf8)) }
            out.write(Data((text.finish() + "\n").utf8))
        }
    }
}
