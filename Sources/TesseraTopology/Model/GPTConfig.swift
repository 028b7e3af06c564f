import TesseraSupport

/// The shape of a decoder-only model of either family (`arch`): GPT-2
/// (LayerNorm, learned positions, GELU MLP, biases, tied head) or Llama
/// (RMSNorm, rotary positions, SwiGLU, grouped-query attention, no biases,
/// untied head by default). The Llama fields are read through
/// `GPTConfig+Family.swift` (`kvHeadCount`, `ffnWidth`, `tiesEmbeddings`), and
/// the planner's `ModelShape(_:)` counts this same spec.
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
    /// Model family: gpt2 or llama.
    public var arch = ModelArch.gpt2
    /// Key/value heads of grouped-query attention (nil: heads, multi-head attention); Llama only.
    public var kvHeads: Int?
    /// Hidden width of the feed-forward block (nil: 4·d for GPT-2; for Llama
    /// 2/3 of 4·d rounded up to a multiple of `ffnMultipleOf`).
    public var ffnHidden: Int?
    /// Llama's rounding of the default feed-forward width (Meta's `multiple_of`).
    public var ffnMultipleOf = 256
    /// Rotary embedding base θ (Llama).
    public var ropeTheta: Float = 10_000
    /// RMSNorm ε (Llama; GPT-2's LayerNorm uses `LayerNormKernel.epsilon`, 1e-5).
    public var normEps: Float = 1e-5
    /// Whether the LM head shares the token embedding (nil: the family's default, tied for GPT-2, untied for Llama).
    public var tieEmbeddings: Bool?
    /// Mixture of experts (`GPTConfig+Experts.swift`): experts per MoE block (0: every block dense).
    public var experts = 0
    /// Experts each token is routed to.
    public var topK = 2
    /// Hidden width of one expert (0: 4·d).
    public var expertHidden = 0
    /// Every N-th block is a mixture of experts (blocks N−1, 2N−1, …; 1: every block).
    public var moeEvery = 1
    /// Expert capacity as a multiple of the even share T·K/E of a sample's choices (0: dropless).
    public var capacityFactor: Float = 0
    /// Switch/GShard load-balancing loss coefficient α.
    public var auxLossCoeff: Float = 0.01
    /// Router z-loss coefficient β.
    public var zLossCoeff: Float = 0.001

    public init(vocab: Int = 256, seqLen: Int = 64, layers: Int = 4, dModel: Int = 128, heads: Int = 4,
                dropout: Float = 0) {
        self.vocab = vocab; self.seqLen = seqLen; self.layers = layers
        self.dModel = dModel; self.heads = heads; self.dropout = dropout
    }

    /// Width of one head, d / heads.
    public var headDim: Int { dModel / heads }

    /// Parameter count: tied embedding V·d, positions T·d, per dense block
    /// 12d² + 13d, final LayerNorm 2d; a mixture-of-experts block replaces
    /// its MLP's 8d² + 5d by the router and every expert (`expertBlockParameters`).
    public var parameterCount: Int {
        arch == .llama ? Int(ModelShape(self).parameterCount) : parameterCount(experts: experts)
    }

    /// Parameters one token's forward pass reads: as `parameterCount`, but
    /// with top-k experts per MoE block (the dense count without experts).
    public var activeParameterCount: Int {
        guard arch == .llama else { return parameterCount(experts: min(topK, experts)) }
        return parameterCount - expertLayerCount * (experts - min(topK, experts)) * expertParameters
    }

    func parameterCount(experts counted: Int) -> Int {
        let d = dModel, dense = 12 * d * d + 13 * d
        let moe = experts > 0 ? expertLayerCount : 0
        let moeBlock = dense - (8 * d * d + 5 * d) + experts * d + counted * expertParameters
        return vocab * d + seqLen * d + (layers - moe) * dense + moe * moeBlock + 2 * d
    }

    /// Training FLOPs for `tokens` tokens: 6·P·tokens + 6·L·d·T·tokens
    /// (matrix products forward and backward, causal attention counted half),
    /// P the active parameters (a token runs top-k experts of a MoE block).
    public func trainingFlops(tokens: Int) -> Double {
        6 * Double(activeParameterCount) * Double(tokens) + 6 * Double(layers * dModel * seqLen) * Double(tokens)
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
        try validateFamily()
        if dModel % heads != 0 {
            let valid = (1...dModel).filter { dModel % $0 == 0 && $0 <= 64 }.map(String.init).joined(separator: ", ")
            throw ConfigError("d-model \(dModel) is not divisible by heads \(heads); heads dividing \(dModel): \(valid)")
        }
        if !(dropout >= 0 && dropout < 1) {
            throw ConfigError("dropout must be in [0, 1), got \(dropout)")
        }
        try validateExperts()
    }
}
