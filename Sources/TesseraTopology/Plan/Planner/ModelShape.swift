import TesseraSupport

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
    /// Every `moeEvery`-th block is a mixture of experts (blocks k−1, 2k−1, … from 0; 1: every block).
    public var moeEvery: Int
    /// Hidden width of one expert's feed-forward block.
    public var expertFFN: Int
    /// Each tensor-parallel rank holds its experts whole and runs them on
    /// every row of the micro-batch (Tessera replicates experts over tp);
    /// false: experts split over tp like the dense feed-forward (Megatron's expert tp = tp).
    public var expertsWholeOverTP: Bool

    public init(name: String = "custom", layers: Int, dModel: Int, heads: Int, kvHeads: Int? = nil, ffn: Int? = nil,
                vocab: Int, seqLen: Int, tied: Bool = false, swiglu: Bool = false, gptStyle: Bool = false,
                experts: Int = 1, topK: Int = 1, moeEvery: Int = 1, expertFFN: Int? = nil,
                expertsWholeOverTP: Bool = false) {
        self.name = name; self.layers = layers; self.dModel = dModel; self.heads = heads
        self.kvHeads = kvHeads ?? heads; self.ffn = ffn ?? 4 * dModel; self.vocab = vocab; self.seqLen = seqLen
        self.tied = tied; self.swiglu = swiglu; self.gptStyle = gptStyle; self.experts = experts; self.topK = topK
        self.moeEvery = moeEvery; self.expertFFN = expertFFN ?? self.ffn; self.expertsWholeOverTP = expertsWholeOverTP
    }

    /// Tessera's own model (GPT-2: tied head, GELU MLP of 4d, biases, LayerNorm, learned positions), with its
    /// mixture-of-experts blocks (GELU experts of `expertWidth` with biases, a bias-free router, experts whole on
    /// every tensor-parallel rank). A config with one expert routes through it, which the planner counts as dense.
    ///
    /// A Llama config (`arch = "llama"`) maps to a Llama-style shape: its kv-heads, feed-forward width,
    /// SwiGLU (experts too), no biases, RMSNorm and rotary positions, tied only with `tie-embeddings`.
    public init(_ c: GPTConfig, name: String = "tessera") {
        self.init(name: name, layers: c.layers, dModel: c.dModel, heads: c.heads, kvHeads: c.kvHeadCount,
                  ffn: c.ffnWidth, vocab: c.vocab, seqLen: c.seqLen, tied: c.tiesEmbeddings, swiglu: c.isLlama,
                  gptStyle: !c.isLlama, experts: max(1, c.experts), topK: c.hasExperts ? c.topK : 1,
                  moeEvery: c.moeEvery, expertFFN: c.expertWidth, expertsWholeOverTP: true)
    }

    /// Key/value heads one of `tp` ranks holds: kv-heads / tp, or one (replicated over
    /// tp / kv-heads ranks) when tp exceeds kv-heads.
    public func kvHeadsPerRank(tp: Int) -> Int { kvHeads % tp == 0 ? kvHeads / tp : 1 }

    /// Width of one head, h / a.
    public var headDim: Int { dModel / heads }
    /// Width of K (and of V): kv-heads · head width.
    public var kvWidth: Int { kvHeads * headDim }
    package var isMoE: Bool { experts > 1 }

    /// Whether block `index` (0-based) is a mixture of experts.
    public func isExpertBlock(_ index: Int) -> Bool { isMoE && index % moeEvery == moeEvery - 1 }

    /// Mixture-of-experts blocks among `blocks` (counted, not enumerated).
    public func expertBlocks(in blocks: Range<Int>) -> Int {
        isMoE ? blocks.upperBound / moeEvery - blocks.lowerBound / moeEvery : 0
    }

    /// Tensor-parallel ranks one expert is split over: 1 when each holds its experts whole.
    public func expertTP(_ tp: Int) -> Int { expertsWholeOverTP ? 1 : tp }

    /// Parameters of one block (a mixture of experts when `expert`) split over
    /// `tp` ranks and `ep` expert ranks, as (held by one rank, of which in
    /// expert MLPs). Megatron's split: Q/K/V, the first feed-forward matrices
    /// and their biases are column-parallel, the output projections
    /// row-parallel (their biases and the norms stay whole); the router
    /// (h·E, no bias) is whole on every rank, each expert a feed-forward block of
    /// width `expertFFN` split over `expertTP(tp)`.
    public func blockParameters(tp: Int, ep: Int = 1, expert: Bool = false) -> (local: Double, expert: Double) {
        let h = Double(dModel), kv = Double(kvWidth), t = Double(tp)
        let b = gptStyle ? 1.0 : 0
        // With more tp ranks than kv heads each rank holds the one kv head its query heads share (Megatron's
        // replication, `kvHeadsPerRank`); otherwise K and V split over tp like Q.
        let attention = kvHeads % tp == 0
            ? (h * (h + 2 * kv) + b * (h + 2 * kv)) / t + h * h / t + b * h
            : (h * h + b * h) / t + 2 * (h + b) * Double(headDim) + h * h / t + b * h
        func mlp(_ f: Double, _ t: Double) -> Double {
            (swiglu ? 3 : 2) * h * f / t + b * (swiglu ? 2 : 1) * f / t + b * h
        }
        let norms = (gptStyle ? 4 : 2) * h
        guard isMoE && expert else { return (attention + mlp(Double(ffn), t) + norms, 0) }
        let expertsHere = (Double(experts) / Double(ep)).rounded(.up)
        let experts = expertsHere * mlp(Double(expertFFN), Double(expertTP(tp)))
        let router = h * Double(self.experts)
        return (attention + experts + router + norms, experts)
    }

    /// Σ `blockParameters` over `blocks`, each dense or a mixture of experts as the model has it.
    public func blockParameters(_ blocks: Range<Int>, tp: Int, ep: Int = 1) -> (local: Double, expert: Double) {
        let moe = Double(expertBlocks(in: blocks)), dense = Double(blocks.count) - moe
        let d = blockParameters(tp: tp, ep: ep), e = blockParameters(tp: tp, ep: ep, expert: true)
        return (dense * d.local + moe * e.local, moe * e.expert)
    }

    /// `vocab` rounded up to a multiple of `tp` (Megatron's padded vocabulary): the rows the
    /// vocabulary-parallel embedding and head split over tp, in the runtime and the cost model alike.
    public static func paddedVocab(_ vocab: Int, tp: Int) -> Int { (vocab + tp - 1) / tp * tp }

    /// This model's vocabulary padded to a multiple of `tp` (`paddedVocab(_:tp:)`).
    public func paddedVocab(tp: Int) -> Double { Double(Self.paddedVocab(vocab, tp: tp)) }

    /// Input embedding (and learned positions) held by one of `tp` ranks.
    public func embeddingParameters(tp: Int) -> Double {
        paddedVocab(tp: tp) * Double(dModel) / Double(tp) + (gptStyle ? Double(seqLen * dModel) : 0)
    }

    /// Final norm and (untied) output head held by one of `tp` ranks.
    public func headParameters(tp: Int) -> Double {
        Double(gptStyle ? 2 * dModel : dModel) + (tied ? 0 : paddedVocab(tp: tp) * Double(dModel) / Double(tp))
    }

    /// Parameters one rank holds of the `k` largest of `counts.blocks`
    /// blocks, `counts.experts` of them mixtures of experts (the larger kind).
    public func largestBlocks(_ k: Int, of counts: (blocks: Int, experts: Int), tp: Int, ep: Int = 1) -> Double {
        let moe = min(k, counts.experts), dense = min(k - moe, counts.blocks - counts.experts)
        return Double(moe) * blockParameters(tp: tp, ep: ep, expert: true).local
            + Double(dense) * blockParameters(tp: tp, ep: ep).local
    }

    /// Every parameter of the model (all experts), unpadded vocabulary.
    public var parameterCount: Double {
        let h = Double(dModel), v = Double(vocab)
        let head = Double(gptStyle ? 2 * dModel : dModel) + (tied ? 0 : v * h)
        return blockParameters(0..<layers, tp: 1).local + v * h + (gptStyle ? Double(seqLen * dModel) : 0) + head
    }

    /// Parameters a token's forward pass multiplies by (top-k experts, no embedding lookup):
    /// the "N" of 6·N·tokens.
    public var activeMatrixParameters: Double {
        let h = Double(dModel), kv = Double(kvWidth), moe = Double(expertBlocks(in: 0..<layers))
        let attention = h * (h + 2 * kv) + h * h
        let dense = (swiglu ? 3 : 2) * h * Double(ffn)
        let routed = (swiglu ? 3 : 2) * h * Double(expertFFN) * Double(topK) + h * Double(experts)
        return Double(layers) * attention + (Double(layers) - moe) * dense + moe * routed + Double(vocab) * h
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
                          ("ffn", ffn), ("vocab", vocab), ("seq-len", seqLen), ("experts", experts), ("top-k", topK),
                          ("moe-every", moeEvery), ("expert-ffn", expertFFN)]
            where v < 1 {
            throw ConfigError("\(name) must be a positive integer, got \(v)")
        }
        try requireWithinLimits()
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
        if moeEvery > layers {
            throw ConfigError("moe-every \(moeEvery) exceeds layers \(layers), so no block would hold experts; "
                              + "moe-every must be in 1...\(layers)")
        }
    }
}
