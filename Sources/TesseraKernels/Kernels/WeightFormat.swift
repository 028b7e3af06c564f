import TesseraSupport

/// The form generation and serving read a model's matrix weights in
/// (`tessera generate|serve --weights`): the linear layers' and the tied
/// head's. Embedding lookups, LayerNorm, biases, attention over the KV cache
/// and the float32 master weights are unchanged by it.
public enum WeightFormat: String, Sendable, Codable, CaseIterable {
    /// float32 weights and activations (the trained values themselves).
    case fp32
    /// bf16 working copies of the weights, activations rounded to bf16 as
    /// they enter a product, float32 accumulation (`Precision.bf16`).
    case bf16
    /// llama.cpp's Q8_0 (`Q8Matrix`): blocks of 32 weights with one half
    /// scale. Steps of up to `Q8Matrix.int8ProductRows` rows quantize the
    /// activations to Q8_0 blocks too (int8 × int8 block sums, as llama.cpp);
    /// larger ones expand the weights to float32 tiles (float32 activations).
    case int8

    /// The format named `text`, or a one-line `ConfigError` naming the valid ones.
    public static func parse(_ text: String, flag: String = "--weights") throws -> WeightFormat {
        guard let format = WeightFormat(rawValue: text) else {
            throw ConfigError("unknown value '\(text)' for \(flag); valid: "
                              + allCases.map(\.rawValue).joined(separator: ", "))
        }
        return format
    }

    /// Bytes a matrix of `count` weights takes in this format (int8: 32 quants and a half scale per 32).
    public func bytes(weights count: Int) -> Int {
        switch self {
        case .fp32: 4 * count
        case .bf16: 2 * count
        case .int8: (count + Q8Matrix.blockSize - 1) / Q8Matrix.blockSize * (Q8Matrix.blockSize + 2)
        }
    }
}
