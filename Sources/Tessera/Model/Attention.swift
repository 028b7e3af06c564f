/// Causal self-attention: qkv = x·W_qkvᵀ + b → per-head softmax(QKᵀ/√hd)·V →
/// out = y·W_projᵀ + b. The dropout sites are the attention probabilities
/// ("<name>.probs"); residual dropout belongs to the block.
///
/// Under tensor parallelism the heads are split across the group: qkv is
/// column-parallel (a rank computes the q, k, v of its heads), proj is
/// row-parallel, so the block communicates once forward (proj's reduce) and
/// once backward (qkv's input-gradient reduce).
public final class CausalSelfAttention: Layer, @unchecked Sendable {
    /// Fused projection to [Q | K | V] of this rank's heads, weight [3·dl, d].
    public let qkv: ColumnParallelLinear
    /// Output projection, weight [d, dl].
    public let proj: RowParallelLinear
    /// Heads computed here, and the global index of the first.
    public let heads: Int, headOffset: Int
    /// Width of a head.
    public let headDim: Int
    let name: String

    /// Saved activations for backward: the input (outer rows), qkv [rows, 3·dl],
    /// probabilities [b, heads, t, t] and the head outputs y [rows, dl].
    public struct Cache {
        /// probs is nil when the core is recomputed in backward (`recomputeCore`).
        let x: Tensor, qkv: Tensor, probs: Tensor?, y: Tensor
        var tensors: [Tensor] { [x, qkv, y] + (probs.map { [$0] } ?? []) }
    }

    /// Whether backward recomputes the attention probabilities instead of keeping them (`Recompute.selective`).
    public var recomputeCore = false

    /// `heads` and `headDim` of the whole model; this rank keeps tp.part(heads).
    public init(name: String, dModel: Int, heads: Int, layers: Int, tp: TensorParallel) {
        let std: Float = 0.02, residualStd = std / (2 * Float(layers)).squareRoot()
        self.name = name
        qkv = ColumnParallelLinear(name: name + ".qkv", inFeatures: dModel, outFeatures: 3 * dModel, blocks: 3,
                                   std: std, tp: tp)
        proj = RowParallelLinear(name: name + ".proj", inFeatures: dModel, outFeatures: dModel, std: residualStd,
                                 tp: tp)
        self.heads = tp.part(heads).count
        headOffset = tp.part(heads).lowerBound
        headDim = dModel / heads
    }

    /// Parameters in checkpoint order.
    public var parameters: [Parameter] {
        [qkv.linear.weight, qkv.linear.bias!, proj.linear.weight, proj.linear.bias!]
    }

    /// The projections' working weights; the attention core's products run at their precision.
    public var workingWeights: [WorkingWeight] { [qkv.linear.workingWeight, proj.linear.workingWeight] }

    func shape(_ ctx: ForwardContext) -> AttentionKernel.Shape {
        AttentionKernel.Shape(batch: ctx.samples, seq: ctx.positions, heads: heads, headDim: headDim,
                              headOffset: headOffset)
    }

    /// x [outer rows, d] → out [outer rows, d].
    public func forward(_ x: Tensor, _ ctx: ForwardContext) throws -> (Tensor, Cache) {
        let qkvOut = try qkv.forward(x)
        let y = Tensor(uninitialized: [ctx.rows, heads * headDim])
        let probs = Tensor(uninitialized: [ctx.samples, heads, ctx.positions, ctx.positions])
        AttentionKernel.forward(y: y.data, probs: probs.data, qkv: qkvOut.data, shape: shape(ctx),
                                dropout: ctx.site(name + ".probs"), sampleOffset: ctx.coords.sampleOffset,
                                precision: precision)
        return (try proj.forward(y), Cache(x: x, qkv: qkvOut, probs: recomputeCore ? nil : probs, y: y))
    }

    /// dout [outer rows, d] → dx [outer rows, d]; accumulates all four parameter gradients.
    public func backward(_ dout: Tensor, _ cache: Cache, _ ctx: ForwardContext,
                         _ backward: BackwardContext = BackwardContext()) throws -> Tensor {
        let dy = try proj.backward(dout, input: cache.y, backward)
        let dqkv = Tensor(uninitialized: cache.qkv.shape)
        let probs = cache.probs ?? recomputedProbabilities(cache, ctx)
        AttentionKernel.backward(dqkv: dqkv.data, dy: dy.data, probs: probs.data, qkv: cache.qkv.data,
                                 shape: shape(ctx), dropout: ctx.site(name + ".probs"),
                                 sampleOffset: ctx.coords.sampleOffset, precision: precision)
        let dx = try qkv.backward(dqkv, input: cache.x, backward)
        // After qkv's bias gradient, which a zero-bubble schedule defers with its dW.
        backward.weightGradient { [self] in zeroKeyBiasGradient() }
        return dx
    }

    /// The softmax probabilities [b, heads, t, t] of the forward that made
    /// `cache`, computed again from its Q, K, V (the head outputs, also
    /// computed again, are dropped).
    func recomputedProbabilities(_ cache: Cache, _ ctx: ForwardContext) -> Tensor {
        let probs = Tensor(uninitialized: [ctx.samples, heads, ctx.positions, ctx.positions])
        let y = Tensor(uninitialized: cache.y.shape)
        AttentionKernel.forward(y: y.data, probs: probs.data, qkv: cache.qkv.data, shape: shape(ctx),
                                dropout: ctx.site(name + ".probs"), sampleOffset: ctx.coords.sampleOffset,
                                precision: precision)
        return probs
    }

    /// The key bias cannot change the loss: it adds q·b_k to every score of a
    /// query's row, and softmax is invariant to a constant shift. Its exact
    /// gradient is zero; the computed one is rounding noise (Σ_j dS_ij ≈ 0)
    /// that Adam would turn into ±lr steps, different in every layout. Setting
    /// it to zero is exact and keeps all layouts identical.
    func zeroKeyBiasGradient() {
        let bias = qkv.linear.bias!, width = heads * headDim
        (bias.grad.data + width).update(repeating: 0, count: width)
    }
}
