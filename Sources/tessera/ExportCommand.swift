import ArgumentParser
import Foundation
import Tessera

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a checkpoint as a Hugging Face GPT-2 directory (config.json + model.safetensors).",
        discussion: "transformers.GPT2LMHeadModel.from_pretrained(DIR) loads it; tessera generate --checkpoint DIR reads it back.")

    @Option(help: "Directory to write (new, empty, or an earlier Tessera export).") var hf: String
    @Option(help: "A Tessera checkpoint (train --checkpoint) or a GPT-2 export.") var checkpoint: String

    func run() throws {
        try reportingErrors {
            let weights = try ModelWeights.load(checkpoint)
            try GPT2Export.write(weights, to: hf)
            say("exported \(weights.config.model.summary) to \(hf) (config.json, model.safetensors)")
        }
    }
}
