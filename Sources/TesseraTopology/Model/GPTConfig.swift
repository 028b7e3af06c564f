import TesseraSupport

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
    public var parameterCount: Int { parameterCount(experts: experts) }

    /// Parameters one token's forward pass reads: as `parameterCount`, but
    /// with top-k experts per MoE block (the dense count without experts).
    public var activeParameterCount: Int { parameterCount(experts: min(topK, experts)) }

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
