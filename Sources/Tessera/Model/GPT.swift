/// The GPT-2 model of ../shared/peers/torch_gpt.py: token + learned position
/// embeddings, `layers` pre-LN blocks, a final LayerNorm and an LM head tied
/// to the token embedding. Forward and backward are explicit per layer; a
/// forward returns a cache that its backward consumes.
///
/// Built with a tensor-parallel group of tp > 1 ranks, each rank holds its
/// shard: heads and MLP units split as in Megatron, the vocabulary
/// (padded to a multiple of tp) split across the tied embedding/head, which
/// is row-parallel as an embedding and column-parallel as the head. Every
/// shard draws exactly its slice of the one-rank initial weights.
public final class GPT: @unchecked Sendable {
    public let config: GPTConfig
    /// Token embedding [paddedVocab/tp, d]: this rank's vocabulary rows; also the LM head's weight.
    public let wte: Parameter
    /// Position embedding [seqLen, d].
    public let wpe: Parameter
    public let blocks: [Block]
    public let lnf: LayerNorm
    /// The tensor-parallel group and mode.
    public let tp: TensorParallel
    /// Vocabulary ids whose wte rows this rank holds (may run past vocab into padding).
    public let vocabRange: Range<Int>

    /// Every parameter in checkpoint order.
    public let parameters: [Parameter]

    /// Saved state of one forward pass over a micro-batch.
    public struct Cache {
        let tokens: [Int32], blocks: [Block.Cache], lnf: LayerNorm.Cache
        /// Activation bytes held until backward (every saved tensor once).
        public var bytes: Int { blocks.reduce(0) { $0 + $1.bytes } + lnf.x.byteCount + lnf.mean.byteCount * 2 }
    }

    /// Vocabulary rounded up to a multiple of `tp` (Megatron's padded vocab).
    public static func paddedVocab(_ vocab: Int, tp: Int) -> Int { (vocab + tp - 1) / tp * tp }

    /// Builds this rank's shard of the model and draws its initial weights from `seed`.
    public init(_ config: GPTConfig, seed: UInt64, tp: TensorParallel = .single()) {
        self.config = config
        self.tp = tp
        let d = config.dModel
        vocabRange = tp.part(Self.paddedVocab(config.vocab, tp: tp.size))
        wte = .shard(name: "wte", global: [config.vocab, d], rowRanges: [vocabRange], cols: 0..<d, rule: .normal(0.02))
        wpe = Parameter(name: "wpe", shape: [config.seqLen, d], rule: .normal(0.02))
        blocks = (0..<config.layers).map { Block(index: $0, config: config, tp: tp) }
        lnf = LayerNorm(name: "lnf", width: d)
        parameters = [wte, wpe] + blocks.flatMap(\.parameters) + [lnf.gain, lnf.bias]
        for p in parameters { p.initialize(seed: seed) }
    }

    /// Looks a parameter up by name.
    public func parameter(_ name: String) -> Parameter? { parameters.first { $0.name == name } }

    /// Sets every gradient to zero.
    public func zeroGrad() { for p in parameters { p.grad.zero() } }

    /// Local vocabulary columns that are real ids (the rest is padding).
    var validVocabColumns: Int { max(0, min(config.vocab, vocabRange.upperBound) - vocabRange.lowerBound) }

    /// Embedding: tokens [rows] → x [outer rows, d] (vocab-parallel lookup,
    /// reduced out of the region, then positions and dropout on the rows held).
    func embed(_ tokens: [Int32], _ ctx: ForwardContext) throws -> Tensor {
        let d = config.dModel
        let full = Tensor(uninitialized: [ctx.rows, d])
        tokens.withUnsafeBufferPointer { tok in
            EmbeddingKernel.lookup(x: full.data, tokens: tok.baseAddress!, wte: wte.value.data, rows: ctx.rows, d: d,
                                   vocab: vocabRange)
        }
        let x = try tp.reduce(full)
        let rows = tp.outerRows(ctx), coords = tp.outerCoords(ctx)
        EmbeddingKernel.addPositions(x: x.data, wpe: wpe.value.data, rows: rows, d: d, coords: coords)
        if let site = ctx.site("embed") {
            DropoutKernel.apply(x.data, rows: rows, c: d, featureBase: 0, coords: coords, site: site)
        }
        return x
    }

    /// tokens [samples·positions] → final normalised activations [outer rows, d] and the cache.
    func trunk(_ tokens: [Int32], _ ctx: ForwardContext) throws -> (Tensor, Cache) {
        var h = try embed(tokens, ctx)
        var caches: [Block.Cache] = []
        caches.reserveCapacity(blocks.count)
        for block in blocks {
            let (y, c) = try block.forward(h, ctx)
            caches.append(c)
            h = y
        }
        let (normed, cf) = lnf.forward(h)
        return (normed, Cache(tokens: tokens, blocks: caches, lnf: cf))
    }

    /// Head: normed [outer rows, d] → (gathered normed [rows, d], local logits
    /// [rows, paddedVocab/tp] = normed · wte_localᵀ).
    func head(_ normed: Tensor) throws -> (Tensor, Tensor) {
        let full = try tp.gather(normed)
        let rows = full.count / config.dModel, v = vocabRange.count
        let logits = Tensor(uninitialized: [rows, v])
        BLAS.gemm(transA: false, transB: true, m: rows, n: v, k: config.dModel,
                  a: full.data, lda: config.dModel, b: wte.value.data, ldb: config.dModel, c: logits.data, ldc: v)
        return (full, logits)
    }

    /// Logits [samples·positions, vocab] for `tokens` (no gradient; tp = 1 only).
    public func logits(_ tokens: [Int32], _ ctx: ForwardContext) throws -> Tensor {
        precondition(tp.size == 1, "full logits exist on a tensor-parallel size of 1 only")
        return try head(trunk(tokens, ctx).0).1
    }

    /// Vocab-parallel cross-entropy of local logits; with `gradScale` they become their gradient.
    func crossEntropy(_ logits: Tensor, _ targets: [Int32], rows: Int, gradScale: Float?) throws -> Double {
        try targets.withUnsafeBufferPointer {
            try VocabParallelCrossEntropy.forwardBackward(
                logits: logits.data, targets: $0.baseAddress!, rows: rows, vLocal: vocabRange.count,
                validColumns: validVocabColumns, vocabOffset: vocabRange.lowerBound, gradScale: gradScale,
                group: tp.group)
        }
    }

    /// Summed cross-entropy of `targets` given `tokens` (no gradient), the same on every tp rank.
    public func loss(_ tokens: [Int32], _ targets: [Int32], _ ctx: ForwardContext) throws -> Double {
        try crossEntropy(try head(trunk(tokens, ctx).0).1, targets, rows: ctx.rows, gradScale: nil)
    }

    /// Activation bytes of the last `forwardBackward`'s cache (its peak before
    /// backward), and of its first block alone.
    public private(set) var lastActivationBytes = 0, lastLayerActivationBytes = 0

    /// One forward and backward pass over a micro-batch. Gradients of
    /// (Σ token losses)·`gradScale` are *added* to every parameter's grad
    /// (so micro-batches accumulate); returns the summed token loss.
    public func forwardBackward(_ tokens: [Int32], _ targets: [Int32], _ ctx: ForwardContext,
                                gradScale: Float) throws -> Double {
        let d = config.dModel, v = vocabRange.count
        let (normed, cache) = try trunk(tokens, ctx)
        lastActivationBytes = cache.bytes
        lastLayerActivationBytes = cache.blocks.first?.bytes ?? 0
        let (full, dlogits) = try head(normed)
        let loss = try crossEntropy(dlogits, targets, rows: ctx.rows, gradScale: gradScale)
        // Tied head (column-parallel over the vocabulary): dwte += dlogitsᵀ·normed; dnormed = reduce(dlogits·wte).
        BLAS.gemm(transA: true, transB: false, m: v, n: d, k: ctx.rows, a: dlogits.data, lda: v,
                  b: full.data, ldb: d, beta: 1, c: wte.grad.data, ldc: d)
        let dfull = Tensor(uninitialized: [ctx.rows, d])
        BLAS.gemm(transA: false, transB: false, m: ctx.rows, n: d, k: v, a: dlogits.data, lda: v,
                  b: wte.value.data, ldb: d, c: dfull.data, ldc: d)
        var dh = lnf.backward(try tp.reduce(dfull), cache.lnf)
        for (block, c) in zip(blocks, cache.blocks).reversed() { dh = try block.backward(dh, c, ctx) }
        let rows = tp.outerRows(ctx), coords = tp.outerCoords(ctx)
        if let site = ctx.site("embed") {
            DropoutKernel.apply(dh.data, rows: rows, c: d, featureBase: 0, coords: coords, site: site)
        }
        EmbeddingKernel.backwardPositions(dwpe: wpe.grad.data, dx: dh.data, rows: rows, d: d, coords: coords)
        let dx = try tp.gather(dh)
        cache.tokens.withUnsafeBufferPointer { tok in
            EmbeddingKernel.backwardTokens(dwte: wte.grad.data, dx: dx.data, tokens: tok.baseAddress!, rows: ctx.rows,
                                           d: d, vocab: vocabRange)
        }
        return loss
    }
}
