import TesseraSupport
import TesseraTopology

/// Published model shapes `tessera plan --model NAME` knows, each from its
/// paper or released config (sequence length as trained).
public enum ModelPresets {
    /// Every preset, in help order.
    public static let all: [ModelShape] = [
        // GPT-2 small (Radford et al. 2019): 124M parameters, tied head, context 1024.
        ModelShape(name: "gpt2-124m", layers: 12, dModel: 768, heads: 12, vocab: 50257, seqLen: 1024, tied: true,
                   gptStyle: true),
        // GPT-3 175B (Brown et al. 2020, Table 2.1): 96 layers, d 12288, 96 heads, context 2048.
        ModelShape(name: "gpt3-175b", layers: 96, dModel: 12288, heads: 96, vocab: 50257, seqLen: 2048, tied: true,
                   gptStyle: true),
        // Llama 2 (Touvron et al. 2023; HF config.json): 7B MHA, 70B GQA with 8 KV heads; context 4096.
        ModelShape(name: "llama2-7b", layers: 32, dModel: 4096, heads: 32, ffn: 11008, vocab: 32000, seqLen: 4096,
                   swiglu: true),
        ModelShape(name: "llama2-70b", layers: 80, dModel: 8192, heads: 64, kvHeads: 8, ffn: 28672, vocab: 32000,
                   seqLen: 4096, swiglu: true),
        // Llama 3 / 3.1 (Dubey et al. 2024, Table 3): vocab 128256, 8 KV heads, pre-training context 8192.
        ModelShape(name: "llama3-8b", layers: 32, dModel: 4096, heads: 32, kvHeads: 8, ffn: 14336, vocab: 128_256,
                   seqLen: 8192, swiglu: true),
        ModelShape(name: "llama3-70b", layers: 80, dModel: 8192, heads: 64, kvHeads: 8, ffn: 28672, vocab: 128_256,
                   seqLen: 8192, swiglu: true),
        ModelShape(name: "llama3-405b", layers: 126, dModel: 16384, heads: 128, kvHeads: 8, ffn: 53248,
                   vocab: 128_256, seqLen: 8192, swiglu: true),
        // Mixtral 8x7B (Jiang et al. 2024; HF config.json): Llama blocks of d 4096, 8 KV heads, every
        // feed-forward 8 SwiGLU experts of width 14336, top-2; context 32768.
        ModelShape(name: "mixtral-8x7b", layers: 32, dModel: 4096, heads: 32, kvHeads: 8, ffn: 14336, vocab: 32000,
                   seqLen: 32768, swiglu: true, experts: 8, topK: 2),
        // PaLM 540B (Chowdhery et al. 2022, Table 1): 118 layers, d 18432, 48 heads (multi-query: 1 KV head),
        // SwiGLU ffn 4d, vocab 256k, context 2048, no biases, shared input/output embedding.
        ModelShape(name: "palm-540b", layers: 118, dModel: 18432, heads: 48, kvHeads: 1, ffn: 73728, vocab: 256_000,
                   seqLen: 2048, tied: true, swiglu: true),
        // Tessera's benchmark shape (`tessera bench train`, ../peers/torch_gpt.py).
        ModelShape(TrainBenchmark.defaultConfig.model, name: "tessera-bench"),
    ]

    /// Preset names, in help order.
    public static var names: [String] { all.map(\.name) }

    /// The preset called `name`; a `ConfigError` listing the presets otherwise.
    public static func named(_ name: String) throws -> ModelShape {
        guard let shape = all.first(where: { $0.name == name.lowercased() }) else {
            throw ConfigError("unknown model '\(name)'; valid models: \(names.joined(separator: ", ")) "
                              + "(or give --layers, --d-model, --heads, --vocab, --seq-len)")
        }
        return shape
    }
}
