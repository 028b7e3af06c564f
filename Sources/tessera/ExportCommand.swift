import ArgumentParser
import Foundation
import Tessera

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a checkpoint as a Hugging Face directory (--hf) or a GGUF file for llama.cpp (--gguf).",
        discussion: """
        AutoModelForCausalLM.from_pretrained(DIR) loads --hf (and AutoTokenizer, when the model has a tokenizer); \
        tessera generate --checkpoint DIR reads it back. Written whole or not at all. \
        --gguf writes llama.cpp's gpt2 layout with matrix weights in F32, BF16 or Q8_0 (--weights fp32|bf16|int8).
        """)

    @Option(help: "Directory to write (new, empty, or an earlier Tessera export).") var hf: String?
    @Option(help: "GGUF file to write (new, or an earlier Tessera GGUF export).") var gguf: String?
    @Option(help: "GGUF matrix weights: fp32 (F32), bf16 (BF16) or int8 (Q8_0).") var weights = "fp32"
    @Option(help: "A Tessera checkpoint (train --checkpoint) or a Hugging Face directory.") var checkpoint: String
    @Option(help: "The tokenizer.json the model was trained with (default: the one its config records).") var tokenizer: String?

    func validate() throws {
        try reportingErrors {
            guard hf != nil || gguf != nil else { throw ConfigError("give --hf DIR, --gguf FILE or both: where to export to") }
            let format = try WeightFormat.parse(weights)
            if format != .fp32 && gguf == nil {
                throw ConfigError("--weights \(weights) applies to --gguf only (--hf writes float32)")
            }
        }
    }

    func run() throws {
        try reportingErrors {
            let weights = try ModelWeights.load(checkpoint)
            if let hf {
                let tok = try RunTokenizer.resolve(weights.config, given: tokenizer)
                try HFExport.write(weights, to: hf, tokenizer: tok)
                say("exported \(weights.config.model.summary) to \(hf) (config.json, model.safetensors\(tok == nil ? "" : ", tokenizer.json, tokenizer_config.json"))")
            }
            if let gguf {
                let format = try WeightFormat.parse(self.weights)
                try GPT2GGUFExport.write(weights, to: gguf, format: format)
                say("exported \(weights.config.model.summary) to \(gguf) (GGUF, gpt2, \(format.rawValue) matrix weights)")
            }
        }
    }
}
