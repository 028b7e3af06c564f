/// The shape of a decoder-only transformer as the planner sees it: enough to
/// count parameters, FLOPs and activation bytes for GPT-2/3 style models
/// (biases, LayerNorm, learned positions, GELU MLP) and Llama style ones
/// (no biases, RMSNorm, rotary positions, SwiGLU, grouped-query attention),
/// dense or mixture-of-experts.
public struct ModelShape: Sendable, Equatable, Codable {
    public var name: String
    /// Transformer blocks L.
    public var layers: Int
    /// Width h (d-model).
    public var dModel: Int
    /// Attention (query) heads a.
    public var heads: Int
    /// Key/value heads (grouped-query attention; = heads for multi-head attention).
    public var kvHeads: Int
    /// Hidden width of the feed-forward block (4h for GPT, e.g. 11008 for Llama-2 7B).
    public var ffn: Int
    /// Vocabulary V.
    public var vocab: Int
    /// Sequence length s.
    public var seqLen: Int
    /// Output head shares the embedding matrix.
    public var tied: Bool
    /// SwiGLU feed-forward (gate, up, down: 3·h·ffn) instead of GELU (2·h·ffn).
    public var swiglu: Bool
    /// GPT-2 style: biases on every linear layer, LayerNorm (scale and bias),
    /// learned position embeddings. Llama style (false): no biases, RMSNorm, rotary positions.
    public var gptStyle: Bool
    /// Experts per mixture-of-experts layer (1: dense) and experts each token visits.
    public var experts: Int, topK: Int

    public init(name: String = "custom", layers: Int, dModel: Int, heads: Int, kvHeads: Int? = nil, ffn: Int? = nil,
                vocab: Int, seqLen: Int, tied: Bool = false, swiglu: Bool = false, gptStyle: Bool = false,
                experts: Int = 1, topK: Int = 1) {
        self.name = name; self.layers = layers; self.dModel = dModel; self.heads = heads
        self.kvHeads = kvHeads ?? heads; self.ffn = ffn ?? 4 * dModel; self.vocab = vocab; self.seqLen = seqLen
        self.tied = tied; self.swiglu = swiglu; self.gptStyle = gptStyle; self.experts = experts; self.topK = topK
    }

    /// Tessera's own model (GPT-2: tied head, GELU MLP of 4d, biases, LayerNorm, learned positions).
    public init(_ c: GPTConfig, name: String = "tessera") {
        self.init(name: name, layers: c.layers, dModel: c.dModel, heads: c.heads, vocab: c.vocab, seqLen: c.seqLen,
                  tied: true, gptStyle: true)
    }

    /// Width of one head, h / a.
    public var headDim: Int { dModel / heads }
    /// Width of K (and of V): kv-heads · head width.
    public var kvWidth: Int { kvHeads * headDim }
    var isMoE: Bool { experts > 1 }

    /// Parameters of one block split over `tp` ranks and `ep` expert ranks, as
    /// (held by one rank, of which in expert MLPs). Megatron's split: Q/K/V,
    /// the first feed-forward matrices and their biases are column-parallel,
    /// the output projections row-parallel (their biases and the norms stay whole).
    public func blockParameters(tp: Int, ep: Int = 1) -> (local: Double, expert: Double) {
        let h = Double(dModel), f = Double(ffn), kv = Double(kvWidth), t = Double(tp)
        let b = gptStyle ? 1.0 : 0
        let attention = (h * (h + 2 * kv) + b * (h + 2 * kv)) / t + h * h / t + b * h
        let mlpSplit = (swiglu ? 3 : 2) * h * f / t + b * (swiglu ? 2 : 1) * f / t
        let mlp = mlpSplit + b * h
        let norms = (gptStyle ? 4 : 2) * h
        guard isMoE else { return (attention + mlp + norms, 0) }
        let expertsHere = (Double(experts) / Double(ep)).rounded(.up)
        let router = h * Double(experts)
        return (attention + expertsHere * mlp + router + norms, expertsHere * mlp)
    }

    /// Vocabulary padded to a multiple of `tp` (Megatron's and Tessera's padded vocab).
    public func paddedVocab(tp: Int) -> Double { (Double(vocab) / Double(tp)).rounded(.up) * Double(tp) }

    /// Input embedding (and learned positions) held by one of `tp` ranks.
    public func embeddingParameters(tp: Int) -> Double {
        paddedVocab(tp: tp) * Double(dModel) / Double(tp) + (gptStyle ? Double(seqLen * dModel) : 0)
    }

    /// Final norm and (untied) output head held by one of `tp` ranks.
    public func headParameters(tp: Int) -> Double {
        Double(gptStyle ? 2 * dModel : dModel) + (tied ? 0 : paddedVocab(tp: tp) * Double(dModel) / Double(tp))
    }

    /// Every parameter of the model (all experts), unpadded vocabulary.
    public var parameterCount: Double {
        let h = Double(dModel), v = Double(vocab)
        let head = Double(gptStyle ? 2 * dModel : dModel) + (tied ? 0 : v * h)
        let expertsAll = blockParameters(tp: 1, ep: 1)
        return Double(layers) * expertsAll.local + v * h + (gptStyle ? Double(seqLen * dModel) : 0) + head
    }

    /// Parameters a token's forward pass multiplies by (top-k experts, no embedding lookup):
    /// the "N" of 6·N·tokens.
    public var activeMatrixParameters: Double {
        let h = Double(dModel), f = Double(ffn), kv = Double(kvWidth)
        let attention = h * (h + 2 * kv) + h * h
        let mlp = (swiglu ? 3 : 2) * h * f * Double(isMoE ? topK : 1) + (isMoE ? h * Double(experts) : 0)
        return Double(layers) * (attention + mlp) + Double(vocab) * h
    }

    /// Model FLOPs of one training step over `tokens` tokens without
    /// recomputation: 6 per active parameter (forward 2, backward 4) plus
    /// attention's two s×s products, 12·L·s·h per token, counted whole as
    /// Narayanan et al. (2021) count them. For a GPT (ffn 4h, MHA, no MoE) this
    /// is their 72·B·s·L·h²·(1 + s/(6h) + V/(12·L·h)).
    public func modelFlops(tokens: Double) -> Double {
        tokens * (6 * activeMatrixParameters + 12 * Double(layers * seqLen * dModel))
    }

    /// Throws a `ConfigError` naming the first field that cannot describe a model.
    public func validate() throws {
        for (name, v) in [("layers", layers), ("d-model", dModel), ("heads", heads), ("kv-heads", kvHeads),
                          ("ffn", ffn), ("vocab", vocab), ("seq-len", seqLen), ("experts", experts), ("top-k", topK)]
            where v < 1 {
            throw ConfigError("\(name) must be a positive integer, got \(v)")
        }
        if dModel % heads != 0 {
            throw ConfigError("d-model \(dModel) is not divisible by heads \(heads); heads must divide d-model")
        }
        if heads % kvHeads != 0 {
            let valid = (1...heads).filter { heads % $0 == 0 }.map(String.init).joined(separator: ", ")
            throw ConfigError("kv-heads \(kvHeads) does not divide heads \(heads); valid kv-heads: \(valid)")
        }
        if topK > experts {
            throw ConfigError("top-k \(topK) exceeds experts \(experts); top-k must be in 1...\(experts)")
        }
    }
}
