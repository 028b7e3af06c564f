import TesseraSupport
import TesseraKernels
import TesseraTopology

/// A Llama decoder layer (Hugging Face's `LlamaDecoderLayer`):
/// x₁ = x + drop(attn(input_layernorm(x))); x₂ = x₁ + drop(mlp(post_attention_layernorm(x₁))),
/// RMSNorms, grouped-query rotary attention and a SwiGLU feed-forward (or a
/// mixture of SwiGLU experts). Norms, dropouts and residuals run on the
/// rows outside the tensor-parallel region, as in GPT-2's `Block`.
public final class LlamaBlock: TransformerBlock, @unchecked Sendable {
    public let inputNorm: RMSNorm, attention: GroupedQueryAttention, postAttentionNorm: RMSNorm
    public let mlp: any FeedForward
    let name: String
    let tp: TensorParallel

    /// Saved state of one forward pass.
    public struct Cache: LayerCache {
        let norm1: RMSNorm.Cache, attention: GroupedQueryAttention.Cache
        let norm2: RMSNorm.Cache, mlp: any LayerCache
        /// Every saved tensor, each once.
        public var tensors: [Tensor] {
            let all = norm1.tensors + norm2.tensors + attention.tensors + mlp.tensors
            var seen = Set<ObjectIdentifier>()
            return all.filter { seen.insert(ObjectIdentifier($0)).inserted }
        }
    }

    /// Layer `index` ("layers.index") of `config`'s shape; this rank's shard under `tp`,
    /// with a dense SwiGLU feed-forward unless `feedForward` is given.
    public init(index: Int, config c: GPTConfig, tp: TensorParallel, feedForward: (any FeedForward)? = nil) {
        name = "layers.\(index)"
        inputNorm = RMSNorm(name: name + ".input_layernorm", width: c.dModel, eps: c.normEps, tp: tp)
        attention = GroupedQueryAttention(name: name + ".self_attn", config: c, tp: tp)
        postAttentionNorm = RMSNorm(name: name + ".post_attention_layernorm", width: c.dModel, eps: c.normEps, tp: tp)
        mlp = feedForward ?? SwiGLUMLP(name: name + ".mlp", dModel: c.dModel, hidden: c.ffnWidth, tp: tp)
        self.tp = tp
    }

    public var parameters: [Parameter] {
        [inputNorm.gain] + attention.parameters + [postAttentionNorm.gain] + mlp.parameters
    }
    public var workingWeights: [WorkingWeight] { attention.workingWeights + mlp.workingWeights }
    public var feedForward: any FeedForward { mlp }
    public var precision: Precision {
        get { attention.precision }
        set { attention.precision = newValue; mlp.precision = newValue }
    }
    public var recomputesAttentionCore: Bool {
        get { attention.recomputeCore }
        set { attention.recomputeCore = newValue }
    }

    /// Residual dropout on a branch output [outer rows, d], in place.
    func residualDropout(_ t: Tensor, _ site: String, _ ctx: ForwardContext) {
        guard let s = ctx.site(name + site) else { return }
        let rows = tp.outerRows(ctx)
        DropoutKernel.apply(t.data, rows: rows, c: t.count / rows, featureBase: 0, coords: tp.outerCoords(ctx), site: s)
    }

    func branchGradient(_ g: Tensor, _ site: String, _ ctx: ForwardContext) -> Tensor {
        guard ctx.site(name + site) != nil else { return g }
        let masked = g.clone()
        residualDropout(masked, site, ctx)
        return masked
    }

    /// x [outer rows, d] → [outer rows, d].
    public func forward(_ x: Tensor, _ ctx: ForwardContext) throws -> (Tensor, Cache) {
        let span = Trace.begin(.blockForward, name); defer { span.end() }
        let (a, c1) = inputNorm.forward(x)
        let (o, ca) = try attention.forward(a, ctx)
        residualDropout(o, ".attn.resid", ctx)
        Elementwise.add(o.data, o.data, x.data, n: o.count)
        let (m, c2) = postAttentionNorm.forward(o)
        let (f, cm) = try mlp.forward(m, ctx)
        residualDropout(f, ".mlp.resid", ctx)
        Elementwise.add(f.data, f.data, o.data, n: f.count)
        return (f, Cache(norm1: c1, attention: ca, norm2: c2, mlp: cm))
    }

    /// dy [outer rows, d] → dx [outer rows, d]; accumulates every parameter gradient of the block.
    public func backward(_ dy: Tensor, _ cache: Cache, _ ctx: ForwardContext,
                         _ backward: BackwardContext = BackwardContext()) throws -> Tensor {
        let span = Trace.begin(.blockBackward, name); defer { span.end() }
        let dm = try mlp.backward(branchGradient(dy, ".mlp.resid", ctx), cache.mlp, ctx, backward)
        let dx1 = postAttentionNorm.backward(dm, cache.norm2)
        Elementwise.accumulate(dx1.data, dy.data, n: dx1.count)
        let da = try attention.backward(branchGradient(dx1, ".attn.resid", ctx), cache.attention, ctx, backward)
        let dx = inputNorm.backward(da, cache.norm1)
        Elementwise.accumulate(dx.data, dx1.data, n: dx.count)
        backward.finished(parameters)
        return dx
    }

    public func blockForward(_ x: Tensor, _ ctx: ForwardContext) throws -> (Tensor, any LayerCache) {
        try forward(x, ctx)
    }
    public func blockBackward(_ dy: Tensor, _ cache: any LayerCache, _ ctx: ForwardContext,
                              _ backward: BackwardContext) throws -> Tensor {
        try self.backward(dy, cache as! Cache, ctx, backward)
    }
}
