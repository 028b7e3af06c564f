/// The GPT-2 model of ../shared/peers/torch_gpt.py: token + learned position
/// embeddings, `layers` pre-LN blocks, a final LayerNorm and an LM head tied
/// to the token embedding. Forward and backward are explicit per layer; a
/// forward returns a cache that its backward consumes.
public final class GPT: @unchecked Sendable {
    public let config: GPTConfig
    /// Token embedding [vocab, d], also the LM head's weight.
    public let wte: Parameter
    /// Position embedding [seqLen, d].
    public let wpe: Parameter
    public let blocks: [Block]
    public let lnf: LayerNorm

    /// Every parameter in checkpoint order.
    public let parameters: [Parameter]

    /// Saved state of one forward pass over a micro-batch.
    public struct Cache {
        let tokens: [Int32], blocks: [Block.Cache], lnf: LayerNorm.Cache, normed: Tensor
    }

    /// Builds the model and draws its initial weights from `seed`.
    public init(_ config: GPTConfig, seed: UInt64) {
        self.config = config
        let d = config.dModel, std: Float = 0.02
        let residualStd = std / (2 * Float(config.layers)).squareRoot()
        wte = Parameter(name: "wte", shape: [config.vocab, d], rule: .normal(std))
        wpe = Parameter(name: "wpe", shape: [config.seqLen, d], rule: .normal(std))
        func linear(_ name: String, _ out: Int, _ inF: Int, _ s: Float) -> Linear {
            Linear(weight: Parameter(name: name + ".weight", shape: [out, inF], rule: .normal(s)),
                   bias: Parameter(name: name + ".bias", shape: [out], rule: .zeros))
        }
        blocks = (0..<config.layers).map { i in
            let p = "h.\(i)"
            let attn = CausalSelfAttention(name: p + ".attn", qkv: linear(p + ".attn.qkv", 3 * d, d, std),
                                           proj: linear(p + ".attn.proj", d, d, residualStd),
                                           heads: config.heads, headOffset: 0, headDim: config.headDim)
            let mlp = MLP(fc: linear(p + ".mlp.fc", 4 * d, d, std), out: linear(p + ".mlp.out", d, 4 * d, residualStd))
            return Block(name: p, ln1: LayerNorm(name: p + ".ln1", width: d), attn: attn,
                         ln2: LayerNorm(name: p + ".ln2", width: d), mlp: mlp)
        }
        lnf = LayerNorm(name: "lnf", width: d)
        parameters = [wte, wpe] + blocks.flatMap(\.parameters) + [lnf.gain, lnf.bias]
        for p in parameters { p.initialize(seed: seed) }
    }

    /// Looks a parameter up by name.
    public func parameter(_ name: String) -> Parameter? { parameters.first { $0.name == name } }

    /// Sets every gradient to zero.
    public func zeroGrad() { for p in parameters { p.grad.zero() } }

    /// tokens [samples·positions] → final normalised activations [rows, d] and the cache.
    func trunk(_ tokens: [Int32], _ ctx: ForwardContext) -> (Tensor, Cache) {
        let d = config.dModel
        let x = Tensor(uninitialized: [ctx.rows, d])
        tokens.withUnsafeBufferPointer { tok in
            EmbeddingKernel.forward(x: x.data, tokens: tok.baseAddress!, wte: wte.value.data, wpe: wpe.value.data,
                                    rows: ctx.rows, positions: ctx.positions,
                                    positionOffset: ctx.coords.positionOffset, d: d)
        }
        if let site = ctx.site("embed") {
            DropoutKernel.apply(x.data, rows: ctx.rows, c: d, featureBase: 0, coords: ctx.coords, site: site)
        }
        var h = x
        var caches: [Block.Cache] = []
        caches.reserveCapacity(blocks.count)
        for block in blocks {
            let (y, c) = block.forward(h, ctx)
            caches.append(c)
            h = y
        }
        let (normed, cf) = lnf.forward(h)
        return (normed, Cache(tokens: tokens, blocks: caches, lnf: cf, normed: normed))
    }

    /// Logits [rows, vocab] = normed · wteᵀ.
    func head(_ normed: Tensor) -> Tensor {
        let rows = normed.count / config.dModel
        let logits = Tensor(uninitialized: [rows, config.vocab])
        BLAS.gemm(transA: false, transB: true, m: rows, n: config.vocab, k: config.dModel,
                  a: normed.data, lda: config.dModel, b: wte.value.data, ldb: config.dModel,
                  c: logits.data, ldc: config.vocab)
        return logits
    }

    /// Logits [samples·positions, vocab] for `tokens` (no gradient).
    public func logits(_ tokens: [Int32], _ ctx: ForwardContext) -> Tensor {
        head(trunk(tokens, ctx).0)
    }

    /// Summed cross-entropy of `targets` given `tokens` (no gradient).
    public func loss(_ tokens: [Int32], _ targets: [Int32], _ ctx: ForwardContext) -> Double {
        let logits = logits(tokens, ctx)
        return targets.withUnsafeBufferPointer {
            CrossEntropyKernel.forwardBackward(logits: logits.data, targets: $0.baseAddress!, rows: ctx.rows,
                                               v: config.vocab, validColumns: config.vocab, gradScale: nil)
        }
    }

    /// One forward and backward pass over a micro-batch. Gradients of
    /// (Σ token losses)·`gradScale` are *added* to every parameter's grad
    /// (so micro-batches accumulate); returns the summed token loss.
    public func forwardBackward(_ tokens: [Int32], _ targets: [Int32], _ ctx: ForwardContext,
                                gradScale: Float) -> Double {
        let d = config.dModel, v = config.vocab
        let (normed, cache) = trunk(tokens, ctx)
        let dlogits = head(normed)
        let loss = targets.withUnsafeBufferPointer {
            CrossEntropyKernel.forwardBackward(logits: dlogits.data, targets: $0.baseAddress!, rows: ctx.rows,
                                               v: v, validColumns: v, gradScale: gradScale)
        }
        // Tied head: dwte += dlogitsᵀ·normed; dnormed = dlogits·wte.
        BLAS.gemm(transA: true, transB: false, m: v, n: d, k: ctx.rows, a: dlogits.data, lda: v,
                  b: normed.data, ldb: d, beta: 1, c: wte.grad.data, ldc: d)
        var dh = Tensor(uninitialized: [ctx.rows, d])
        BLAS.gemm(transA: false, transB: false, m: ctx.rows, n: d, k: v, a: dlogits.data, lda: v,
                  b: wte.value.data, ldb: d, c: dh.data, ldc: d)
        dh = lnf.backward(dh, cache.lnf)
        for (block, c) in zip(blocks, cache.blocks).reversed() { dh = block.backward(dh, c, ctx) }
        if let site = ctx.site("embed") {
            DropoutKernel.apply(dh.data, rows: ctx.rows, c: d, featureBase: 0, coords: ctx.coords, site: site)
        }
        cache.tokens.withUnsafeBufferPointer { tok in
            EmbeddingKernel.backward(dwte: wte.grad.data, dwpe: wpe.grad.data, dx: dh.data, tokens: tok.baseAddress!,
                                     rows: ctx.rows, positions: ctx.positions,
                                     positionOffset: ctx.coords.positionOffset, d: d)
        }
        return loss
    }
}
