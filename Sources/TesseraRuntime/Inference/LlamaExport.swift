import Foundation
import TesseraSupport
import TesseraModel

/// A model in Hugging Face's Llama form (`LlamaForCausalLM`): config.json's
/// keys and the tensors of `model.safetensors` (float32, Hugging Face's
/// names: Tessera's with a `model.` prefix, `lm_head.weight` unless tied),
/// which `transformers.LlamaForCausalLM.from_pretrained(DIR)` loads and
/// `LlamaImport` reads back. `HFExport` writes the directory.
enum LlamaExport {
    /// config.json's keys and the named tensors for `weights` (a Llama model).
    static func files(_ weights: Checkpoint) -> (config: [String: Any], tensors: SafeTensors.File) {
        let m = weights.config.model
        var file = SafeTensors.File(metadata: ["format": "pt"])
        for (name, shape) in GPT.parameterLayout(m) {
            file.arrays[LlamaImport.hfName(name)] = .f32(shape: shape, values: weights.parameters[name]!.values)
        }
        let config: [String: Any] = [
            "architectures": [LlamaImport.architecture], "model_type": "llama",
            "vocab_size": m.vocab, "max_position_embeddings": m.seqLen, "hidden_size": m.dModel,
            "intermediate_size": m.ffnWidth, "num_hidden_layers": m.layers, "num_attention_heads": m.heads,
            "num_key_value_heads": m.kvHeadCount, "head_dim": m.headDim, "hidden_act": "silu",
            "rms_norm_eps": Double(m.normEps), "rope_theta": Double(m.ropeTheta), "rope_scaling": NSNull(),
            "attention_bias": false, "mlp_bias": false, "attention_dropout": 0.0, "pretraining_tp": 1,
            "tie_word_embeddings": m.tiesEmbeddings, "initializer_range": 0.02, "use_cache": true,
        ]
        return (config, file)
    }
}
