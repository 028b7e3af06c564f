/// How Tessera's parameters map onto Hugging Face's GPT-2
/// (`transformers.GPT2LMHeadModel`): names under `transformer.`, and
/// GPT-2's `Conv1D` layers (c_attn, c_proj, c_fc) store their weight
/// [in, out], the transpose of Tessera's `Linear` [out, in]. The head is
/// tied to `wte` in both. GPT-2's `gelu_new` is Tessera's tanh GELU and its
/// LayerNorm ε is Tessera's 1e-5, so the same weights give the same model.
enum GPT2Layout {
    /// GPT-2's config values that must hold for Tessera's model to equal it.
    static let activation = "gelu_new", activationAliases: Set<String> = ["gelu_new", "gelu_pytorch_tanh"]
    /// GPT-2's ε as its config writes it; Tessera's float32 ε is this value rounded to float32, as PyTorch rounds it.
    static let layerNormEpsilon = 1e-5

    /// The GPT-2 name of a Tessera parameter, and whether it is a transposed (Conv1D) weight.
    static func name(_ tessera: String) -> (name: String, transposed: Bool) {
        let parts = tessera.split(separator: ".").map(String.init)
        switch parts.first {
        case "wte", "wpe": return ("transformer.\(tessera).weight", false)
        case "lnf": return ("transformer.ln_f.\(parts[1])", false)
        default:
            let layer = parts[1], rest = parts[2...].joined(separator: ".")
            let mapped: [String: String] = [
                "ln1.weight": "ln_1.weight", "ln1.bias": "ln_1.bias", "ln2.weight": "ln_2.weight", "ln2.bias": "ln_2.bias",
                "attn.qkv.weight": "attn.c_attn.weight", "attn.qkv.bias": "attn.c_attn.bias",
                "attn.proj.weight": "attn.c_proj.weight", "attn.proj.bias": "attn.c_proj.bias",
                "mlp.fc.weight": "mlp.c_fc.weight", "mlp.fc.bias": "mlp.c_fc.bias",
                "mlp.out.weight": "mlp.c_proj.weight", "mlp.out.bias": "mlp.c_proj.bias",
            ]
            return ("transformer.h.\(layer).\(mapped[rest]!)", rest.hasSuffix("weight") && !rest.hasPrefix("ln"))
        }
    }

    /// values [rows, cols] row-major → its transpose [cols, rows].
    static func transpose(_ values: [Float], rows: Int, cols: Int) -> [Float] {
        var out = [Float](repeating: 0, count: values.count)
        for r in 0..<rows { for c in 0..<cols { out[c * rows + r] = values[r * cols + c] } }
        return out
    }
}
