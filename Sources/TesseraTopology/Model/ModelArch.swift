/// The model family a `GPTConfig` describes (`arch` in the settings table).
public enum ModelArch: String, CaseIterable, Sendable, Codable {
    /// GPT-2: LayerNorm with bias, learned positions, GELU MLP of 4·d, biases on every linear layer, tied head.
    case gpt2
    /// Llama: RMSNorm, rotary positions (Hugging Face's rotate-half), SwiGLU feed-forward,
    /// grouped-query attention, no biases, untied head unless `tie-embeddings`.
    case llama
}
