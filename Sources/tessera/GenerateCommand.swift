import ArgumentParser
import Foundation
import Tessera

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Sample text from a checkpoint.")

    @Option(help: "Checkpoint directory (from tessera train --checkpoint).") var checkpoint: String
    @Option(help: "Text to continue.") var prompt = ""
    @Option(help: "Bytes to generate.") var tokens = 200
    @Option(help: "Softmax temperature (> 0).") var temperature: Float = 0.8
    @Option(name: .customLong("top-k"), help: "Sample among the k most likely bytes (0: all).") var topK = 40
    @Option(help: "Sampling seed.") var seed = 0

    func run() throws {
        try reportingErrors {
            guard temperature > 0, temperature.isFinite else {
                throw ConfigError("--temperature must be a positive number, got \(temperature)")
            }
            guard topK >= 0 else { throw ConfigError("--top-k must be 0 (all) or positive, got \(topK)") }
            guard tokens >= 0 else { throw ConfigError("--tokens must be zero or positive, got \(tokens)") }
            guard seed >= 0 else { throw ConfigError("--seed must be zero or positive, got \(seed)") }
            let ckpt = try Checkpoint.load(from: checkpoint, withOptimizer: false)
            Compute.threads = ProcessInfo.processInfo.activeProcessorCount
            let model = GPT(ckpt.config.model, seed: ckpt.config.seed)
            try ckpt.restore(into: model.parameters, optimizer: nil, source: checkpoint)
            let sampler = Sampler(model: model, temperature: temperature, topK: topK, seed: UInt64(seed))
            let out = FileHandle.standardOutput
            var text = TerminalText.Stream()
            out.write(Data(prompt.utf8))
            _ = try sampler.generate(prompt: Array(prompt.utf8), count: tokens) { out.write(Data(text.push($0).utf8)) }
            out.write(Data((text.finish() + "\n").utf8))
        }
    }
}
