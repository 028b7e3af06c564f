/// The shape of a GPT-2 style model.
public struct GPTConfig: Codable, Sendable, Equatable {
    /// Vocabulary size (≥ 256: tokens are bytes; extra ids are never produced by the data).
    public var vocab: Int
    /// Context length T (also the size of the learned position table).
    public var seqLen: Int
    /// Number of transformer blocks L.
    public var layers: Int
    /// Model width d.
    public var dModel: Int
    /// Attention heads; d must be divisible by it.
    public var heads: Int
    /// Dropout probability for embeddings, attention probabilities and residuals.
    public var dropout: Float

    public init(vocab: Int = 256, seqLen: Int = 64, layers: Int = 4, dModel: Int = 128, heads: Int = 4,
                dropout: Float = 0) {
        self.vocab = vocab; self.seqLen = seqLen; self.layers = layers
        self.dModel = dModel; self.heads = heads; self.dropout = dropout
    }

    /// Width of one head, d / heads.
    public var headDim: Int { dModel / heads }

    /// Parameter count: tied embedding V·d, positions T·d, per block 12d² + 13d, final LayerNorm 2d.
    public var parameterCount: Int {
        let d = dModel
        return vocab * d + seqLen * d + layers * (12 * d * d + 13 * d) + 2 * d
    }

    /// Training FLOPs for `tokens` tokens: 6·P·tokens + 6·L·d·T·tokens
    /// (matrix products forward and backward, causal attention counted half).
    public func trainingFlops(tokens: Int) -> Double {
        6 * Double(parameterCount) * Double(tokens) + 6 * Double(layers * dModel * seqLen) * Double(tokens)
    }

    /// Throws a `ConfigError` naming the first invalid field and what is valid.
    public func validate() throws {
        func positive(_ name: String, _ v: Int) throws {
            if v <= 0 { throw ConfigError("\(name) must be a positive integer, got \(v)") }
        }
        try positive("layers", layers)
        try positive("d-model", dModel)
        try positive("heads", heads)
        try positive("seq-len", seqLen)
        if vocab < 256 { throw ConfigError("vocab must be at least 256 (byte tokens), got \(vocab)") }
        if dModel % heads != 0 {
            let valid = (1...dModel).filter { dModel % $0 == 0 && $0 <= 64 }.map(String.init).joined(separator: ", ")
            throw ConfigError("d-model \(dModel) is not divisible by heads \(heads); heads dividing \(dModel): \(valid)")
        }
        if !(dropout >= 0 && dropout < 1) {
            throw ConfigError("dropout must be in [0, 1), got \(dropout)")
        }
    }
}
