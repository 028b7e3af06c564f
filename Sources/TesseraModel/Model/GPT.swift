import TesseraSupport
import TesseraKernels
import TesseraTopology

/// The model of either family (`GPTConfig.arch`). GPT-2: the model that Tests/TesseraTests/Fixtures/make_fixture.py computes
/// independently in PyTorch (the tests match it): token + learned position
/// embeddings, `layers` pre-LN blocks, a final LayerNorm and an LM head tied
/// to the token embedding. Forward and backward are explicit per layer; a
/// forward returns a cache that its backward consumes.
///
/// Built with a tensor-parallel group of tp > 1 ranks, each rank holds its
/// shard: heads and MLP units split as in Megatron, the vocabulary
/// (padded to a multiple of tp) split across the tied embedding/head, which
/// is row-parallel as an embedding and column-parallel as the head. Every
/// shard draws exactly its slice of the one-rank initial weights.
///
/// As a pipeline stage it holds a contiguous range of blocks, plus the
/// embeddings when it is the first stage and the final LayerNorm and the
/// tied head when it is the last (both stages then hold wte; the pipeline
/// sums its two gradients).
///
/// Llama (`arch = llama`, the model Tests/TesseraTests/Fixtures/make_llama_fixture.py
/// computes with transformers' `LlamaForCausalLM`): token embedding
/// "embed_tokens.weight" without positions, `LlamaBlock`s ("layers.i.…"),
/// a final RMSNorm "norm.weight" and, unless `tie-embeddings`, its own
/// vocabulary-parallel head "lm_head.weight" on the last stage (`lmHead`).
public final class GPT: @unchecked Sendable {
    public let config: GPTConfig
    /// Token embedding [paddedVocab/tp, d]: this rank's vocabulary rows; also
    /// the LM head's weight when tied. Held by the first stage, and by the last when tied.
    public let wte: Parameter?
    /// The untied LM head [paddedVocab/tp, d] (Llama's "lm_head.weight"; last stage), nil when tied.
    public let lmHead: Parameter?
    /// Position embedding [seqLen, d] (first stage).
    public let wpe: Parameter?
    /// The blocks of this stage (`Block`s for GPT-2, `LlamaBlock`s for Llama).
    public let blocks: [any TransformerBlock]
    /// Final norm (last stage): GPT-2's LayerNorm "lnf", Llama's RMSNorm "norm".
    public let finalNorm: (any RowNormalization)?
    /// GPT-2's final LayerNorm (last stage).
    public var lnf: LayerNorm? { finalNorm as? LayerNorm }
    /// GPT-2's blocks (empty for Llama).
    public var gpt2Blocks: [Block] { blocks.compactMap { $0 as? Block } }
    /// The tensor-parallel group and mode.
    public let tp: TensorParallel
    /// Vocabulary ids whose wte rows this rank holds (may run past vocab into padding).
    public let vocabRange: Range<Int>

    /// Every parameter held, in checkpoint order.
    public let parameters: [Parameter]
    /// The parameters by unit of residency: unit 0 the stage's embeddings,
    /// final LayerNorm and head (whichever it holds), unit i + 1 block i's.
    public var units: [[Parameter]] {
        [[wte, wpe].compactMap { $0 } + (finalNorm?.parameters ?? []) + [lmHead].compactMap { $0 }]
            + blocks.map(\.parameters)
    }
    /// Told around each unit's use (ZeRO-2/3); nil: parameters stay put.
    public weak var residency: (any ParameterResidency)?

    /// Token and position embedding (first stage).
    public let embedding: VocabParallelEmbedding?
    /// The LM head (last stage): tied to wte, or reading `lmHead`.
    public let tiedHead: TiedHead?
    /// The vocab-parallel cross-entropy of the head's logits (last stage).
    public let crossEntropy: VocabParallelCrossEntropy?

    /// The precision of the model's matrix products (fp32 unless set;
    /// `Precision` says what bf16 rounds): set once here, it fills every
    /// layer's precision slot (the blocks' and the tied head's).
    public var precision: Precision = .fp32 {
        didSet {
            for block in blocks { block.precision = precision }
            tiedHead?.precision = precision
        }
    }

    /// Every weight the model's products read: the blocks' linear layers and the head.
    package var workingWeights: [WorkingWeight] { blocks.flatMap(\.workingWeights) + (tiedHead?.workingWeights ?? []) }

    /// Re-rounds every bf16 working copy from the float32 weights; the
    /// optimizer calls it once per step, after updating them.
    public func refreshWorkingWeights() { for w in workingWeights { w.refresh() } }

    /// Shape of the activation that crosses a pipeline stage boundary for a
    /// micro-batch of `ctx` (and of its gradient): [outer rows, d].
    public func boundaryShape(_ ctx: ForwardContext) -> [Int] { [tp.outerRows(ctx), config.dModel] }

    /// Whether this stage embeds tokens (the first) and computes the loss (the last).
    public var isFirstStage: Bool { embedding != nil }
    public var isLastStage: Bool { finalNorm != nil }

    /// What the model keeps for backward and recomputes (`Recompute`); the model's owner sets it.
    public var recompute: Recompute = .none {
        didSet { for b in blocks { b.recomputesAttentionCore = recompute == .selective } }
    }

    /// What one block's forward left for its backward: its cache, or under
    /// full recomputation only its input.
    public enum BlockSaved {
        case cache(any LayerCache), input(Tensor)
        package var bytes: Int {
            switch self {
            case .cache(let c): c.tensors.reduce(0) { $0 + $1.byteCount }
            case .input(let x): x.byteCount
            }
        }
    }

    /// Saved state of one forward pass over a micro-batch.
    public struct Cache {
        package let tokens: [Int32], blocks: [BlockSaved]
        /// Last stage: final norm's cache, the gathered normed rows [rows, d]
        /// and the logits' gradient [rows, paddedVocab/tp].
        let lnf: (any LayerCache)?, normed: Tensor?, dlogits: Tensor?
        /// Activation bytes held until backward (every saved tensor once).
        public var bytes: Int {
            blocks.reduce(0) { $0 + $1.bytes } + ((lnf?.tensors ?? []) + [normed, dlogits].compactMap { $0 })
                .reduce(0) { $0 + $1.byteCount }
        }
    }


    /// The mixture-of-experts blocks' feed-forward layers of this stage.
    public var mixtures: [MixtureOfExperts] { blocks.compactMap { $0.feedForward as? MixtureOfExperts } }

    /// Builds this rank's shard of the model (or of the pipeline stage holding
    /// blocks `layers`, with the embeddings if `first`, the head if `last`)
    /// and draws its initial weights from `seed`. Under expert parallelism
    /// (`ep`) its mixture-of-experts blocks hold this rank's experts only.
    public init(_ config: GPTConfig, seed: UInt64, tp: TensorParallel = .single(), ep: ExpertParallel = .single(),
                layers: Range<Int>? = nil, first: Bool = true, last: Bool = true) {
        self.config = config
        self.tp = tp
        let d = config.dModel
        vocabRange = tp.part(ModelShape.paddedVocab(config.vocab, tp: tp.size))
        // A stage holding only one end of a pipeline shares wte with the other end; the first stage's copy counts.
        let vocabParallel = Placement.sharded(dim: 0, over: tp)
        let llama = config.isLlama, tied = config.tiesEmbeddings
        let holdsWTE = first || (last && tied)
        wte = holdsWTE ? .shard(name: llama ? "embed_tokens.weight" : "wte", global: [config.vocab, d],
                                rowRanges: [vocabRange], cols: 0..<d, rule: .normal(0.02),
                                placement: first == last || !tied ? vocabParallel
                                    : vocabParallel.tied(through: .embedding, primary: first)) : nil
        lmHead = last && !tied ? .shard(name: "lm_head.weight", global: [config.vocab, d], rowRanges: [vocabRange],
                                        cols: 0..<d, rule: .normal(0.02), placement: vocabParallel) : nil
        wpe = first && !llama ? Parameter(name: "wpe", shape: [config.seqLen, d], rule: .normal(0.02),
                                          placement: .replicated(over: tp)) : nil
        blocks = (layers ?? 0..<config.layers).map { i -> any TransformerBlock in
            let experts = config.isExpertLayer(i) ? MixtureOfExperts(layer: i, config: config, tp: tp, ep: ep) : nil
            return llama ? LlamaBlock(index: i, config: config, tp: tp, feedForward: experts)
                         : Block(index: i, config: config, tp: tp, feedForward: experts)
        }
        if !last { finalNorm = nil } else if llama {
            finalNorm = RMSNorm(name: "norm", width: d, eps: config.normEps, tp: tp)
        } else {
            finalNorm = LayerNorm(name: "lnf", width: d, tp: tp)
        }
        embedding = first ? VocabParallelEmbedding(wte: wte!, wpe: wpe, vocabRange: vocabRange, tp: tp) : nil
        tiedHead = last ? TiedHead(wte: lmHead ?? wte!, tp: tp) : nil
        crossEntropy = last ? VocabParallelCrossEntropy(vocab: config.vocab, vocabRange: vocabRange, tp: tp) : nil
        parameters = [wte, wpe].compactMap { $0 } + blocks.flatMap(\.parameters) + (finalNorm?.parameters ?? [])
            + [lmHead].compactMap { $0 }
        for p in parameters { p.initialize(seed: seed) }
    }

    /// Sets every gradient to zero.
    public func zeroGrad() { for p in parameters { p.grad.zero() } }

    /// Embedding: tokens [rows] → x [outer rows, d] (the `VocabParallelEmbedding` layer).
    func embed(_ tokens: [Int32], _ ctx: ForwardContext) throws -> Tensor { try embedding!.forward(tokens, ctx).0 }

    /// Head: normed [outer rows, d] → (gathered normed [rows, d], local logits
    /// [rows, paddedVocab/tp] = normed · wte_localᵀ) (the `TiedHead` layer).
    package func head(_ normed: Tensor) throws -> (Tensor, Tensor) {
        let (logits, cache) = try tiedHead!.logits(normed)
        return (cache.normed, logits)
    }

    /// The summed token loss of local logits [rows, paddedVocab/tp] (the
    /// `VocabParallelCrossEntropy` layer); with `gradScale` its backward runs
    /// at once, turning the logits into their gradient in place, so the
    /// stage keeps one [rows, paddedVocab/tp] buffer and a pipeline's
    /// forward action ends with the loss's gradient ready.
    func lossAndGradient(_ logits: Tensor, _ targets: [Int32], _ ctx: ForwardContext,
                         gradScale: Float?) throws -> (Double, Tensor?) {
        let span = Trace.begin(.loss); defer { span.end() }
        let (loss, saved) = try crossEntropy!.forward(.init(logits: logits, targets: targets), ctx)
        return (loss, try gradScale.map { try crossEntropy!.backward($0, saved, ctx, BackwardContext()) })
    }

    /// The stage's forward on a micro-batch: `tokens` [rows] on the first
    /// stage, else `input` [outer rows, d] from the previous stage. Returns
    /// the output activation [outer rows, d] (nil on the last stage) and, on
    /// the last stage, the summed token loss, whose gradient (scaled by
    /// `gradScale`, nil for no gradient) is already in the cache.
    public func stageForward(tokens: [Int32], input: Tensor?, targets: [Int32], _ ctx: ForwardContext,
                             gradScale: Float?) throws -> (output: Tensor?, loss: Double, cache: Cache) {
        // Units in forward order 0, 1, …, n; after block n comes unit 0 again when backward follows.
        let n = blocks.count, after = gradScale == nil ? nil : 0
        try residency?.willUse(0, backward: false, next: n > 0 ? 1 : after)
        var h = isFirstStage ? try embed(tokens, ctx) : input!
        var caches: [BlockSaved] = []
        caches.reserveCapacity(blocks.count)
        for (i, block) in blocks.enumerated() {
            try residency?.willUse(i + 1, backward: false, next: i + 1 < n ? i + 2 : after)
            let (y, c) = try block.blockForward(h, ctx)
            try residency?.didUse(i + 1, backward: false)
            caches.append(recompute == .full ? .input(h) : .cache(c))
            h = y
        }
        guard let lnf = finalNorm else {
            try residency?.didUse(0, backward: false)
            return (h, 0, Cache(tokens: tokens, blocks: caches, lnf: nil, normed: nil, dlogits: nil))
        }
        let (normed, cf) = lnf.normalize(h)
        let (full, logits) = try head(normed)
        try residency?.didUse(0, backward: false)
        let (loss, dlogits) = try lossAndGradient(logits, targets, ctx, gradScale: gradScale)
        return (nil, loss, Cache(tokens: tokens, blocks: caches, lnf: cf, normed: full, dlogits: dlogits))
    }

    /// The stage's backward: `dOutput` [outer rows, d] from the next stage
    /// (nil on the last, whose gradient starts at the cached logits) → the
    /// gradient of the stage's input [outer rows, d] (nil on the first stage).
    /// Adds every parameter gradient, or records the weight-gradient
    /// products where `backward` says (zero-bubble W), and reports each
    /// layer's parameters finished as soon as their gradients are complete.
    public func stageBackward(_ cache: Cache, dOutput: Tensor?, _ ctx: ForwardContext,
                              _ backward: BackwardContext = BackwardContext()) throws -> Tensor? {
        let n = blocks.count
        // Units in backward order 0 (head first, embeddings last), n, …, 1.
        try residency?.willUse(0, backward: true, next: n > 0 ? n : nil)
        var dh: Tensor
        if let lnf = finalNorm, let dlogits = cache.dlogits, let full = cache.normed, let tiedHead {
            let dnormed = try tiedHead.backward(dlogits, TiedHead.Cache(normed: full), ctx, backward)
            dh = lnf.normalizeBackward(dnormed, cache.lnf!)
            // The head's weight is finished here unless the embedding below still adds to it (tied, one stage).
            let headWeight = lmHead ?? (isFirstStage ? nil : wte)
            backward.finished(lnf.parameters + [headWeight].compactMap { $0 })
        } else {
            dh = dOutput!
        }
        for (i, (block, c)) in zip(blocks, cache.blocks).enumerated().reversed() {
            try residency?.willUse(i + 1, backward: true, next: i > 0 ? i : nil)
            let saved: any LayerCache
            switch c {
            case .cache(let kept): saved = kept
            case .input(let x): saved = try block.blockForward(x, ctx).1  // full recomputation
            }
            dh = try block.blockBackward(dh, saved, ctx, backward)
            try residency?.didUse(i + 1, backward: true)
        }
        try embedding?.backward(dh, VocabParallelEmbedding.Cache(tokens: cache.tokens), ctx, backward)
        try residency?.didUse(0, backward: true)
        return embedding == nil ? dh : nil
    }

    /// Logits [samples·positions, vocab] for `tokens` (no gradient; one rank only).
    public func logits(_ tokens: [Int32], _ ctx: ForwardContext) throws -> Tensor {
        precondition(tp.size == 1 && isFirstStage && isLastStage, "full logits exist on a one-rank model only")
        var h = try embed(tokens, ctx)
        for block in blocks { h = try block.blockForward(h, ctx).0 }
        return try head(finalNorm!.normalize(h).0).1
    }

    /// Summed cross-entropy of `targets` given `tokens` (no gradient), the
    /// same on every tp rank (whole model only; pipelines evaluate stage by stage).
    public func loss(_ tokens: [Int32], _ targets: [Int32], _ ctx: ForwardContext) throws -> Double {
        try stageForward(tokens: tokens, input: nil, targets: targets, ctx, gradScale: nil).loss
    }

    /// Activation bytes of the last `forwardBackward`'s cache (its peak before
    /// backward), and of its first block alone.
    public private(set) var lastActivationBytes = 0, lastLayerActivationBytes = 0

    /// One forward and backward pass of the whole model over a micro-batch.
    /// Gradients of (Σ token losses)·`gradScale` are *added* to every
    /// parameter's grad (so micro-batches accumulate); returns the summed token loss.
    public func forwardBackward(_ tokens: [Int32], _ targets: [Int32], _ ctx: ForwardContext,
                                gradScale: Float, _ backward: BackwardContext = BackwardContext()) throws -> Double {
        let (_, loss, cache) = try stageForward(tokens: tokens, input: nil, targets: targets, ctx, gradScale: gradScale)
        lastActivationBytes = cache.bytes
        lastLayerActivationBytes = cache.blocks.first?.bytes ?? 0
        _ = try stageBackward(cache, dOutput: nil, ctx, backward)
        return loss
    }
}
