import Foundation
import TesseraSupport
import TesseraModel

/// A model in Hugging Face's GPT-2 form (`GPT2LMHeadModel`): config.json's
/// keys and the tensors of `model.safetensors` (float32, GPT-2's names and
/// Conv1D orientation, the head tied to wte and so not stored), which
/// `transformers.GPT2LMHeadModel.from_pretrained(DIR)` loads and
/// `GPT2Import` reads back. `HFExport` writes the directory.
enum GPT2Export {
    /// config.json's keys and the named tensors for `weights` (a GPT-2 model).
    static func files(_ weights: Checkpoint) -> (config: [String: Any], tensors: SafeTensors.File) {
        let m = weights.config.model
        var file = SafeTensors.File(metadata: ["format": "pt"])
        for (name, shape) in GPT.parameterLayout(m) {
            let values = weights.parameters[name]!.values
            let (hfName, transposed) = GPT2Layout.name(name)
            file.arrays[hfName] = transposed
                ? .f32(shape: [shape[1], shape[0]], values: GPT2Layout.transpose(values, rows: shape[0], cols: shape[1]))
                : .f32(shape: shape, values: values)
        }
        let config: [String: Any] = [
            "architectures": [GPT2Import.architecture], "model_type": "gpt2",
            "vocab_size": m.vocab, "n_positions": m.seqLen, "n_ctx": m.seqLen, "n_embd": m.dModel,
            "n_layer": m.layers, "n_head": m.heads, "n_inner": NSNull(),
            "activation_function": GPT2Layout.activation, "layer_norm_epsilon": GPT2Layout.layerNormEpsilon,
            "resid_pdrop": Double(m.dropout), "embd_pdrop": Double(m.dropout), "attn_pdrop": Double(m.dropout),
            "initializer_range": 0.02, "scale_attn_weights": true, "scale_attn_by_inverse_layer_idx": false,
            "reorder_and_upcast_attn": false, "tie_word_embeddings": true, "use_cache": true,
        ]
        return (config, file)
    }
}
