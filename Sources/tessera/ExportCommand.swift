import ArgumentParser
import Foundation
import Tessera

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a checkpoint as a Hugging Face directory (config.json, model.safetensors, tokenizer files).",
        discussion: "AutoModelForCausalLM.from_pretrained(DIR) loads it (and AutoTokenizer, when the model has a tokenizer); tessera generate --checkpoint DIR reads it back. Written whole or not at all.")

    @Option(help: "Directory to write (new, empty, or an earlier Tessera export).") var hf: String
    @Option(help: "A Tessera checkpoint (train --checkpoint) or a Hugging Face directory.") var checkpoint: String
    @Option(help: "The tokenizer.json the model was trained with (default: the one its config records).") var tokenizer: String?

    func run() throws {
        try reportingErrors {
            let weights = try ModelWeights.load(checkpoint)
            let tok = try RunTokenizer.resolve(weights.config, given: tokenizer)
            try HFExport.write(weights, to: hf, tokenizer: tok)
            say("exported \(weights.config.model.summary) to \(hf) (config.json, model.safetensors\(tok == nil ? "" : ", tokenizer.json, tokenizer_config.json"))")
        }
    }
}
