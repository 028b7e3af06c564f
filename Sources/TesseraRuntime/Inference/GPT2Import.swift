import Foundation
import TesseraSupport
import TesseraKernels
import TesseraTopology
import TesseraModel

/// Reads a Hugging Face GPT-2 directory (config.json, model.safetensors in
/// float32) into whole tensors by Tessera name, trusting nothing: the
/// config must be a GPT-2 whose activation and LayerNorm ε are Tessera's,
/// with sizes in range, and every tensor must be present with the shape the
/// config implies and finite values; extra tensors are refused (except the
/// attention-mask buffers older exports carry and an `lm_head.weight` equal to wte).
public enum GPT2Import {
    public static func read(_ path: String) throws -> Checkpoint {
        let model = try config(path)
        let file = try SafeTensors.read(path: path + "/model.safetensors")
        let stPath = path + "/model.safetensors"
        // Original GPT-2 files name tensors without the "transformer." prefix.
        var arrays: [String: SafeTensors.Array] = [:]
        for (name, array) in file.arrays {
            arrays[name.hasPrefix("transformer.") || name == "lm_head.weight" ? name : "transformer." + name] = array
        }
        var weights: [String: (shape: [Int], values: [Float])] = [:]
        var expected: Set<String> = []
        for (name, shape) in GPT.parameterLayout(model) {
            let (hfName, transposed) = GPT2Layout.name(name)
            expected.insert(hfName)
            let stored = transposed ? [shape[1], shape[0]] : shape
            guard case .f32(let s, let values)? = arrays[hfName] else {
                throw CheckpointError("\(stPath) has no float32 tensor '\(hfName)', which a GPT-2 of this config needs")
            }
            guard s == stored else {
                throw CheckpointError("\(stPath): tensor '\(hfName)' has shape \(s); config.json implies \(stored)")
            }
            if let i = values.firstIndex(where: { !$0.isFinite }) {
                throw CheckpointError("\(stPath): tensor '\(hfName)' holds \(values[i]) at element \(i); values must be finite")
            }
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
    static func config(_ path: String) throws -> GPTConfig {
        let configPath = path + "/config.json"
        guard let data = FileManager.default.contents(atPath: configPath),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CheckpointError("\(configPath) is missing, unreadable or not a JSON object")
        }
        func bad(_ what: String) -> CheckpointError { CheckpointError("\(configPath): \(what)") }
        guard json["model_type"] as? String == "gpt2" else {
            throw bad("model_type is \(json["model_type"].map { "\($0)" } ?? "missing"); Tessera reads GPT-2 ('gpt2') exports")
        }
        func int(_ key: String, _ range: ClosedRange<Int>) throws -> Int {
            guard let n = json[key] as? Int, range.contains(n) else {
                throw bad("'\(key)' is \(json[key].map { "\($0)" } ?? "missing"); it must be an integer in \(range)")
            }
            return n
        }
        let m = GPTConfig(vocab: try int("vocab_size", 256...1 << 20), seqLen: try int("n_positions", 1...1 << 20),
                          layers: try int("n_layer", 1...1024), dModel: try int("n_embd", 1...1 << 16),
                          heads: try int("n_head", 1...1024), dropout: 0)
        if let ctx = json["n_ctx"] as? Int, ctx != m.seqLen { throw bad("n_ctx \(ctx) differs from n_positions \(m.seqLen)") }
        let activation = json["activation_function"] as? String ?? "gelu_new"
        guard GPT2Layout.activationAliases.contains(activation) else {
            throw bad("activation_function is '\(activation)'; Tessera's GELU is the tanh form ('gelu_new' or 'gelu_pytorch_tanh')")
        }
        let eps = json["layer_norm_epsilon"] as? Double ?? 1e-5
        guard Float(eps) == LayerNormKernel.epsilon else {
            throw bad("layer_norm_epsilon is \(eps); Tessera's LayerNorm uses \(GPT2Layout.layerNormEpsilon)")
        }
        if let inner = json["n_inner"] as? Int, inner != 4 * m.dModel {
            throw bad("n_inner is \(inner); Tessera's MLP is 4·n_embd = \(4 * m.dModel) wide")
        }
        for (key, wanted) in [("tie_word_embeddings", true), ("scale_attn_weights", true),
                              ("scale_attn_by_inverse_layer_idx", false)] {
            if let v = json[key] as? Bool, v != wanted { throw bad("'\(key)' is \(v); Tessera's GPT-2 has \(wanted)") }
        }
        do { try m.validate() } catch { throw bad("\(error)") }
        return m
    }
}
