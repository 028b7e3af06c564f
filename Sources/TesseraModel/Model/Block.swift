import TesseraSupport
import TesseraKernels
import TesseraTopology

/// A pre-LayerNorm transformer block:
/// x₁ = x + drop(attn(ln1(x))); x₂ = x₁ + drop(mlp(ln2(x₁))).
///
/// LayerNorms, dropouts and residuals run on the rows this rank holds outside
/// the tensor-parallel region: all rows under TP, a sequence chunk under SP.
public final class Block: Layer, @unchecked Sendable {
    public let ln1: LayerNorm, attn: CausalSelfAttention, ln2: LayerNorm
    /// The feed-forward layer (dense MLP; a mixture of experts is another `FeedForward`).
    public let mlp: any FeedForward
    let name: String
    let tp: TensorParallel

    /// Saved state of one forward pass.
    public struct Cache {
        let ln1: LayerNorm.Cache, attn: CausalSelfAttention.Cache
        let ln2: LayerNorm.Cache, mlp: any LayerCache

        /// Every saved tensor, each once.
        public var tensors: [Tensor] {
            let all = [ln1.x, ln1.mean, ln1.rstd, ln2.x, ln2.mean, ln2.rstd] + attn.tensors + mlp.tensors
            var seen = Set<ObjectIdentifier>()
            return all.filter { seen.insert(ObjectIdentifier($0)).inserted }
        }
        /// Bytes of activation memory the cache holds until backward.
        public var bytes: Int { tensors.reduce(0) { $0 + $1.byteCount } }
    }

    /// Block `index` of a model of `config`'s shape; this rank's shard of it
    /// under `tp`, with a dense MLP unless `feedForward` is given.
    public init(index: Int, config: GPTConfig, tp: TensorParallel, feedForward: (any FeedForward)? = nil) {
        name = "h.\(index)"
        let d = config.dModel
        ln1 = LayerNorm(name: name + ".ln1", width: d, tp: tp)
        attn = CausalSelfAttention(name: name + ".attn", dModel: d, heads: config.heads, layers: config.layers, tp: tp)
        ln2 = LayerNorm(name: name + ".ln2", width: d, tp: tp)
        mlp = feedForward ?? MLP(name: name + ".mlp", dModel: d, layers: config.layers, tp: tp)
        self.tp = tp
    }

    /// The block's parameters in a fixed order.
    public var parameters: [Parameter] {
        [ln1.gain, ln1.bias] + attn.parameters + [ln2.gain, ln2.bias] + mlp.parameters
    }

    /// The block's linear layers (attention's qkv and proj, the MLP's fc and out).
    public var linears: [Linear] { [attn.qkv.linear, attn.proj.linear] + mlp.linears }

    /// Its layers' working weights: attention's, then the feed-forward's.
    public var workingWeights: [WorkingWeight] { attn.workingWeights + mlp.workingWeights }

    /// Residual dropout on a branch output [outer rows, d], in place.
    func residualDropout(_ t: Tensor, _ site: String, _ ctx: ForwardContext) {
        guard let s = ctx.site(name + site) else { return }
        let rows = tp.outerRows(ctx)
        DropoutKernel.apply(t.data, rows: rows, c: t.count / rows, featureBase: 0, coords: tp.outerCoords(ctx), site: s)
    }

    /// The gradient entering a branch through its residual dropout: the
    /// residual gradient itself when dropout is off (branch backwards only
    /// read it), otherwise a masked copy.
    func branchGradient(_ g: Tensor, _ site: String, _ ctx: ForwardContext) -> Tensor {
        guard ctx.site(name + site) != nil else { return g }
        let masked = g.clone()
        residualDropout(masked, site, ctx)
        return masked
    }

    /// x [outer rows, d] → [outer rows, d].
    public func forward(_ x: Tensor, _ ctx: ForwardContext) throws -> (Tensor, Cache) {
        let span = Trace.begin(.blockForward, name); defer { span.end() }
        let (a, c1) = ln1.forward(x)
        let (o, ca) = try attn.forward(a, ctx)
        residualDropout(o, ".attn.resid", ctx)
        let (m, c2) = ln2.forward(o, addingResidual: x)  // o becomes x₁, normed in the same pass
        let (f, cm) = try mlp.forward(m, ctx)
        residualDropout(f, ".mlp.resid", ctx)
        Elementwise.add(f.data, f.data, o.data, n: f.count)
        return (f, Cache(ln1: c1, attn: ca, ln2: c2, mlp: cm))
    }

    /// dy [outer rows, d] → dx [outer rows, d]; accumulates every parameter gradient of the block.
    /// `backward` says where the linear layers' dW products go; the block reports its parameters finished.
    public func backward(_ dy: Tensor, _ cache: Cache, _ ctx: ForwardContext,
                         _ backward: BackwardContext = BackwardContext()) throws -> Tensor {
        let span = Trace.begin(.blockBackward, name); defer { span.end() }
        let dm = try mlp.backward(branchGradient(dy, ".mlp.resid", ctx), cache.mlp, ctx, backward)
        let dx1 = ln2.backward(dm, cache.ln2)
        Elementwise.accumulate(dx1.data, dy.data, n: dx1.count)
        let da = try attn.backward(branchGradient(dx1, ".attn.resid", ctx), cache.attn, ctx, backward)
        let dx = ln1.backward(da, cache.ln1)
        Elementwise.accumulate(dx.data, dx1.data, n: dx.count)
        backward.finished(parameters)
        return dx
    }
}
