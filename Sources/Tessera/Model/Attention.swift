/// Causal self-attention: qkv = x·W_qkvᵀ + b → per-head softmax(QKᵀ/√hd)·V →
/// out = y·W_projᵀ + b. The dropout sites are the attention probabilities
/// ("<name>.probs"); residual dropout belongs to the block.
public final class CausalSelfAttention: @unchecked Sendable {
    /// Fused projection to [Q | K | V], weight [3·dl, d].
    public let qkv: Linear
    /// Output projection, weight [d, dl].
    public let proj: Linear
    /// Heads computed here, and the global index of the first.
    public let heads: Int, headOffset: Int
    /// Width of a head.
    public let headDim: Int
    let name: String

    /// Saved activations for backward.
    public struct Cache {
        let x: Tensor, qkv: Tensor, probs: Tensor, y: Tensor
    }

    public init(name: String, qkv: Linear, proj: Linear, heads: Int, headOffset: Int, headDim: Int) {
        self.name = name; self.qkv = qkv; self.proj = proj
        self.heads = heads; self.headOffset = headOffset; self.headDim = headDim
    }

    func shape(_ ctx: ForwardContext) -> AttentionKernel.Shape {
        AttentionKernel.Shape(batch: ctx.samples, seq: ctx.positions, heads: heads, headDim: headDim,
                              headOffset: headOffset)
    }

    /// x [n, d] → out [n, d] (before the projection's output is reduced, under TP).
    public func forward(_ x: Tensor, _ ctx: ForwardContext) -> (Tensor, Cache) {
        let qkvOut = qkv.forward(x)
        let y = Tensor(uninitialized: [ctx.rows, heads * headDim])
        let probs = Tensor(uninitialized: [ctx.samples, heads, ctx.positions, ctx.positions])
        AttentionKernel.forward(y: y.data, probs: probs.data, qkv: qkvOut.data, shape: shape(ctx),
                                dropout: ctx.site(name + ".probs"), sampleOffset: ctx.coords.sampleOffset)
        return (proj.forward(y), Cache(x: x, qkv: qkvOut, probs: probs, y: y))
    }

    /// dout [n, d] → dx [n, d]; accumulates all four parameter gradients.
    public func backward(_ dout: Tensor, _ cache: Cache, _ ctx: ForwardContext) -> Tensor {
        let dy = proj.backward(dout, input: cache.y)
        let dqkv = Tensor(uninitialized: cache.qkv.shape)
        AttentionKernel.backward(dqkv: dqkv.data, dy: dy.data, probs: cache.probs.data, qkv: cache.qkv.data,
                                 shape: shape(ctx), dropout: ctx.site(name + ".probs"),
                                 sampleOffset: ctx.coords.sampleOffset)
        let dx = qkv.backward(dqkv, input: cache.x)
        zeroKeyBiasGradient()
        return dx
    }

    /// The key bias cannot change the loss: it adds q·b_k to every score of a
    /// query's row, and softmax is invariant to a constant shift. Its exact
    /// gradient is zero; the computed one is rounding noise (Σ_j dS_ij ≈ 0)
    /// that Adam would turn into ±lr steps, different in every layout. Setting
    /// it to zero is exact and keeps all layouts identical.
    func zeroKeyBiasGradient() {
        guard let bias = qkv.bias else { return }
        let width = heads * headDim
        (bias.grad.data + width).update(repeating: 0, count: width)
    }
}
