import TesseraSupport
import TesseraKernels

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
    /// the head outputs y [rows, dl] and each row's log-sum-exp [b, heads, t]
    /// (the probabilities are recomputed, never stored). Under selective
    /// recomputation y and the log-sum-exp are dropped (nil) and backward
    /// runs the core's forward again from qkv. Under Ulysses context
    /// parallelism the core's own inputs and outputs (whole sequences of
    /// fewer heads) replace qkv and lse.
    public struct Cache {
        let x: Tensor, qkv: Tensor?, y: Tensor?, lse: Tensor?
        let ulysses: UlyssesAttention.Saved?
        var tensors: [Tensor] { [x] + [qkv, y, lse].compactMap { $0 } + (ulysses?.tensors ?? []) }
    }

    /// Whether backward recomputes the attention core (`Recompute.selective`, Korthikanti et al. 2022):
    /// the forward keeps only the core's input qkv, dropping its outputs, the head outputs y [rows, dl]
    /// and the softmax statistics (one log-sum-exp per row and head; the blockwise core never keeps the
    /// [t, t] scores or probabilities), and backward runs the core's forward again (its two products,
    /// its softmax and dropout, bit for bit: the masks come from Philox) to get them back. Saves
    /// 4·(rows·dl + b·heads·t) bytes per block. Not with Ulysses context parallelism (`TrainConfig.validate`).
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

    /// x [outer rows, d] → out [outer rows, d]. Under context parallelism the
    /// rows are this rank's chunks of each sample and the core runs as ring
    /// or Ulysses attention over the cp group.
    public func forward(_ x: Tensor, _ ctx: ForwardContext) throws -> (Tensor, Cache) {
        let span = Trace.begin(.attentionForward, name); defer { span.end() }
        let qkvOut = try qkv.forward(x)
        let y = Tensor(uninitialized: [ctx.rows, heads * headDim])
        let site = ctx.site(name + ".probs"), offset = ctx.coords.sampleOffset
        if let cp = ctx.contextParallel, cp.mode == .ulysses {
            let saved = try UlyssesAttention.forward(y: y.data, qkv: qkvOut.data, shape: shape(ctx), seqLen: ctx.seqLen,
                                                     cp: cp, dropout: site, sampleOffset: offset, precision: precision)
            return (try proj.forward(y), Cache(x: x, qkv: nil, y: y, lse: nil, ulysses: saved))
        }
        let lse = Tensor(uninitialized: [ctx.samples, heads, ctx.positions])
        if let cp = ctx.contextParallel {
            try RingAttention.forward(y: y.data, lse: lse.data, qkv: qkvOut.data, shape: shape(ctx), seqLen: ctx.seqLen,
                                      cp: cp, dropout: site, sampleOffset: offset, precision: precision)
        } else {
            AttentionKernel.forward(y: y.data, lse: lse.data, qkv: qkvOut.data, shape: shape(ctx), dropout: site,
                                    sampleOffset: offset, precision: precision)
        }
        let keep = !recomputeCore  // (Ulysses, above, keeps its own; `TrainConfig.validate` refuses it with selective)
        return (try proj.forward(y), Cache(x: x, qkv: qkvOut, y: keep ? y : nil, lse: keep ? lse : nil, ulysses: nil))
    }

    /// The core's outputs of the forward that made `cache`: kept, or (selective recomputation)
    /// computed again from its qkv with the same dropout masks; under ring context parallelism the
    /// ring runs again (every cp rank recomputes the same layer at the same point of its backward).
    func coreOutputs(_ cache: Cache, _ ctx: ForwardContext) throws -> (y: Tensor, lse: Tensor?) {
        if let y = cache.y { return (y, cache.lse) }
        let y = Tensor(uninitialized: [ctx.rows, heads * headDim])
        let lse = Tensor(uninitialized: [ctx.samples, heads, ctx.positions])
        let site = ctx.site(name + ".probs"), offset = ctx.coords.sampleOffset
        if let cp = ctx.contextParallel {
            try RingAttention.forward(y: y.data, lse: lse.data, qkv: cache.qkv!.data, shape: shape(ctx),
                                      seqLen: ctx.seqLen, cp: cp, dropout: site, sampleOffset: offset,
                                      precision: precision)
        } else {
            AttentionKernel.forward(y: y.data, lse: lse.data, qkv: cache.qkv!.data, shape: shape(ctx), dropout: site,
                                    sampleOffset: offset, precision: precision)
        }
        return (y, lse)
    }

    /// dout [outer rows, d] → dx [outer rows, d]; accumulates all four parameter gradients.
    public func backward(_ dout: Tensor, _ cache: Cache, _ ctx: ForwardContext,
                         _ backward: BackwardContext = BackwardContext()) throws -> Tensor {
        let span = Trace.begin(.attentionBackward, name); defer { span.end() }
        let (y, lse) = try coreOutputs(cache, ctx)
        let dy = try proj.backward(dout, input: y, backward)
        let dqkv = Tensor(uninitialized: [ctx.rows, 3 * heads * headDim])
        let site = ctx.site(name + ".probs"), offset = ctx.coords.sampleOffset
        if let cp = ctx.contextParallel, let saved = cache.ulysses {
            try UlyssesAttention.backward(dqkv: dqkv.data, dy: dy.data, saved: saved, shape: shape(ctx),
                                          seqLen: ctx.seqLen, cp: cp, dropout: site, sampleOffset: offset,
                                          precision: precision)
        } else if let cp = ctx.contextParallel {
            try RingAttention.backward(dqkv: dqkv.data, dy: dy.data, y: y.data, lse: lse!.data,
                                       qkv: cache.qkv!.data, shape: shape(ctx), seqLen: ctx.seqLen, cp: cp,
                                       dropout: site, sampleOffset: offset, precision: precision)
        } else {
            AttentionKernel.backward(dqkv: dqkv.data, dy: dy.data, y: y.data, lse: lse!.data,
                                     qkv: cache.qkv!.data, shape: shape(ctx), dropout: site, sampleOffset: offset,
                                     precision: precision)
        }
        let dx = try qkv.backward(dqkv, input: cache.x, backward)
        // After qkv's bias gradient, which a zero-bubble schedule defers with its dW.
        backward.weightGradient { [self] in zeroKeyBiasGradient() }
        return dx
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
