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
    @Option(help: "The tokenizer.json the model was trained with (default: the one its config records).") var tokenizer: String?

    func run() throws {
        try reportingErrors {
            let weights = try ModelWeights.load(checkpoint)
            let tok = try RunTokenizer.resolve(weights.config, given: tokenizer)
            try GPT2Export.write(weights, to: hf, tokenizer: tok)
            say("exported \(weights.config.model.summary) to \(hf) (config.json, model.safetensors\(tok == nil ? "" : ", tokenizer.json"))")
        }
    }
}
