import Foundation
import TesseraSupport
import TesseraTopology
import TesseraModel

/// Reads a Hugging Face Llama directory (`LlamaForCausalLM`: config.json,
/// weights in F32, F16 or BF16, whole or sharded; see `HFDirectory`) into
/// whole float32 tensors by Tessera name. Tessera's Llama parameters carry
/// Hugging Face's names without the `model.` prefix (the head is
/// `lm_head.weight`) and the same [out, in] orientation, and its rotary
/// embedding is Hugging Face's rotate-half form, so the tensors load as
/// they are. Config keys Tessera does not implement are refused by name:
/// a rope scaling other than "default", biases, an activation other than
/// SiLU, a head_dim other than hidden_size / heads.
enum LlamaImport {
    /// The architecture name in config.json.
    static let architecture = "LlamaForCausalLM"

    /// The Hugging Face name of a Tessera Llama parameter.
    static func hfName(_ tessera: String) -> String { tessera == "lm_head.weight" ? tessera : "model." + tessera }

    static func read(directory dir: inout HFDirectory) throws -> Checkpoint {
        let model = try config(dir)
        let arrays = try dir.tensors()
        let path = dir.weightsPath
        var weights: [String: (shape: [Int], values: [Float])] = [:]
        var expected: Set<String> = []
        for (name, shape) in GPT.parameterLayout(model) {
            let hf = hfName(name)
            expected.insert(hf)
            weights[name] = (shape, try HFTensor.take(arrays[hf], name: hf, shape: shape, in: path, family: "Llama"))
        }
        for name in Set(arrays.keys).subtracting(expected).sorted() {
            if name.hasSuffix(".rotary_emb.inv_freq") { continue }  // a buffer older exports carry, derived from rope_theta
            if name == "lm_head.weight", model.tiesEmbeddings, case .f32(_, let v)? = arrays[name],
               v == weights["embed_tokens.weight"]!.values { continue }
            throw CheckpointError("\(path) holds tensor '\(name)', which a Llama of this config does not have")
        }
        return Checkpoint(model: model, weights: weights)
    }

    /// The model shape config.json describes, or an error naming the key and what Tessera runs.
    static func config(_ dir: HFDirectory) throws -> GPTConfig {
        let json = dir.config
        guard json["model_type"] as? String == "llama" else {
            throw dir.bad("model_type is \(json["model_type"].map { "\($0)" } ?? "missing"); a LlamaForCausalLM has 'llama'")
        }
        let heads = try dir.int("num_attention_heads", 1...1024)
        var m = GPTConfig(vocab: try dir.int("vocab_size", 256...1 << 20), seqLen: try dir.int("max_position_embeddings", 1...1 << 20),
                          layers: try dir.int("num_hidden_layers", 1...1024), dModel: try dir.int("hidden_size", 1...1 << 16),
                          heads: heads, dropout: 0)
        m.arch = .llama
        // Settings equal to the spec's defaults stay unset, so the spec reads as Tessera's own would.
        if let kv = json["num_key_value_heads"], !(kv is NSNull) {
            let n = try dir.int("num_key_value_heads", 1...heads)
            m.kvHeads = n == heads ? nil : n
        }
        let ffn = try dir.int("intermediate_size", 1...1 << 20)
        if m.ffnWidth != ffn { m.ffnHidden = ffn }
        m.normEps = Float(try dir.double("rms_norm_eps", default: 1e-6))
        if json["tie_word_embeddings"] as? Bool == true { m.tieEmbeddings = true }
        let act = json["hidden_act"] as? String ?? "silu"
        guard act == "silu" else { throw dir.bad("hidden_act is '\(act)'; Tessera's SwiGLU uses 'silu'") }
        if let hd = json["head_dim"] as? Int, hd * heads != m.dModel {
            throw dir.bad("head_dim is \(hd); Tessera's Llama has hidden_size / num_attention_heads = \(m.dModel / max(heads, 1))")
        }
        for key in ["attention_bias", "mlp_bias"] { try dir.require(key, false, because: "Tessera's Llama (no biases)") }
        // Rotary settings: transformers 5 writes rope_parameters, earlier versions rope_theta and rope_scaling.
        var theta = try dir.double("rope_theta", default: 10_000)
        if let params = json["rope_parameters"] as? [String: Any] {
            let type = params["rope_type"] as? String ?? "default"
            guard type == "default" else {
                throw dir.bad("rope_parameters.rope_type is '\(type)'; Tessera implements only 'default' rotary embeddings")
            }
            if let t = (params["rope_theta"] as? NSNumber)?.doubleValue { theta = t }
        }
        if let scaling = json["rope_scaling"], !(scaling is NSNull) {
            let type = (scaling as? [String: Any]).flatMap { ($0["rope_type"] ?? $0["type"]) as? String } ?? "\(scaling)"
            guard type == "default" else {
                throw dir.bad("rope_scaling is of type '\(type)'; Tessera implements only unscaled ('default') rotary embeddings")
            }
        }
        m.ropeTheta = Float(theta)
        do { try m.validate() } catch { throw dir.bad("\(error)") }
        return m
    }
}
