import Foundation
import TesseraSupport
import TesseraKernels
import TesseraTopology
import TesseraModel

/// Reads a Hugging Face GPT-2 directory (`GPT2LMHeadModel`: config.json,
/// weights in F32, F16 or BF16, whole or sharded; see `HFDirectory`) into
/// whole float32 tensors by Tessera name, trusting nothing: the config must
/// be a GPT-2 whose activation and LayerNorm ε are Tessera's, with sizes in
/// range, and every tensor must be present with the shape the config
/// implies and finite values; extra tensors are refused (except the
/// attention-mask buffers older exports carry and an `lm_head.weight` equal to wte).
public enum GPT2Import {
    /// The architecture name in config.json.
    static let architecture = "GPT2LMHeadModel"

    /// Reads the GPT-2 checkpoint in `path` (config.json naming GPT2LMHeadModel).
    public static func read(_ path: String) throws -> Checkpoint {
        var dir = try HFDirectory(path, supported: [architecture])
        return try read(directory: &dir)
    }

    static func read(directory dir: inout HFDirectory) throws -> Checkpoint {
        let model = try config(dir)
        let file = try dir.tensors()
        let stPath = dir.weightsPath
        // Original GPT-2 files name tensors without the "transformer." prefix.
        var arrays: [String: SafeTensors.Array] = [:]
        for (name, array) in file {
            arrays[name.hasPrefix("transformer.") || name == "lm_head.weight" ? name : "transformer." + name] = array
        }
        var weights: [String: (shape: [Int], values: [Float])] = [:]
        var expected: Set<String> = []
        for (name, shape) in GPT.parameterLayout(model) {
            let (hfName, transposed) = GPT2Layout.name(name)
            expected.insert(hfName)
            let stored = transposed ? [shape[1], shape[0]] : shape
            let values = try HFTensor.take(arrays[hfName], name: hfName, shape: stored, in: stPath, family: "GPT-2")
            weights[name] = (shape, transposed ? GPT2Layout.transpose(values, rows: shape[1], cols: shape[0]) : values)
        }
        for name in Set(arrays.keys).subtracting(expected).sorted() {
            if name.hasSuffix(".attn.bias") || name.hasSuffix(".attn.masked_bias") { continue }
            if name == "lm_head.weight", case .f32(_, let v)? = arrays[name], v == weights["wte"]!.values { continue }
            throw CheckpointError("\(stPath) holds tensor '\(name)', which a tied GPT-2 of this config does not have")
        }
        return Checkpoint(model: model, weights: weights)
    }

    /// The model shape config.json describes, or an error naming the key and what Tessera runs.
    static func config(_ dir: HFDirectory) throws -> GPTConfig {
        let json = dir.config
        guard json["model_type"] as? String == "gpt2" else {
            throw dir.bad("model_type is \(json["model_type"].map { "\($0)" } ?? "missing"); a GPT2LMHeadModel has 'gpt2'")
        }
        let m = GPTConfig(vocab: try dir.int("vocab_size", 256...1 << 20), seqLen: try dir.int("n_positions", 1...1 << 20),
                          layers: try dir.int("n_layer", 1...1024), dModel: try dir.int("n_embd", 1...1 << 16),
                          heads: try dir.int("n_head", 1...1024), dropout: 0)
        if let ctx = json["n_ctx"] as? Int, ctx != m.seqLen { throw dir.bad("n_ctx \(ctx) differs from n_positions \(m.seqLen)") }
        let activation = json["activation_function"] as? String ?? "gelu_new"
        guard GPT2Layout.activationAliases.contains(activation) else {
            throw dir.bad("activation_function is '\(activation)'; Tessera's GELU is the tanh form ('gelu_new' or 'gelu_pytorch_tanh')")
        }
        let eps = try dir.double("layer_norm_epsilon", default: 1e-5)
        guard Float(eps) == LayerNormKernel.epsilon else {
            throw dir.bad("layer_norm_epsilon is \(eps); Tessera's LayerNorm uses \(GPT2Layout.layerNormEpsilon)")
        }
        if let inner = json["n_inner"] as? Int, inner != 4 * m.dModel {
            throw dir.bad("n_inner is \(inner); Tessera's MLP is 4·n_embd = \(4 * m.dModel) wide")
        }
        for (key, wanted) in [("tie_word_embeddings", true), ("scale_attn_weights", true),
                              ("scale_attn_by_inverse_layer_idx", false), ("add_cross_attention", false)] {
            try dir.require(key, wanted, because: "Tessera's GPT-2")
        }
        do { try m.validate() } catch { throw dir.bad("\(error)") }
        return m
    }
}
