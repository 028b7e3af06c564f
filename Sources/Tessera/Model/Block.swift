/// A pre-LayerNorm transformer block:
/// x₁ = x + drop(attn(ln1(x))); x₂ = x₁ + drop(mlp(ln2(x₁))).
public final class Block: @unchecked Sendable {
    public let ln1: LayerNorm, attn: CausalSelfAttention, ln2: LayerNorm, mlp: MLP
    let name: String

    /// Saved state of one forward pass.
    public struct Cache {
        let ln1: LayerNorm.Cache, attn: CausalSelfAttention.Cache
        let ln2: LayerNorm.Cache, mlp: MLP.Cache
    }

    public init(name: String, ln1: LayerNorm, attn: CausalSelfAttention, ln2: LayerNorm, mlp: MLP) {
        self.name = name; self.ln1 = ln1; self.attn = attn; self.ln2 = ln2; self.mlp = mlp
    }

    /// The block's parameters in a fixed order.
    public var parameters: [Parameter] {
        [ln1.gain, ln1.bias, attn.qkv.weight, attn.qkv.bias!, attn.proj.weight, attn.proj.bias!,
         ln2.gain, ln2.bias, mlp.fc.weight, mlp.fc.bias!, mlp.out.weight, mlp.out.bias!]
    }

    /// Residual dropout on a branch output, in place.
    func residualDropout(_ t: Tensor, _ site: String, _ ctx: ForwardContext) {
        guard let s = ctx.site(name + site) else { return }
        DropoutKernel.apply(t.data, rows: ctx.rows, c: t.count / ctx.rows, featureBase: 0,
                            coords: ctx.coords, site: s)
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

    /// x [n, d] → [n, d].
    public func forward(_ x: Tensor, _ ctx: ForwardContext) -> (Tensor, Cache) {
        let (a, c1) = ln1.forward(x)
        let (o, ca) = attn.forward(a, ctx)
        residualDropout(o, ".attn.resid", ctx)
        Elementwise.add(o.data, o.data, x.data, n: o.count)  // o becomes x₁
        let (m, c2) = ln2.forward(o)
        let (f, cm) = mlp.forward(m)
        residualDropout(f, ".mlp.resid", ctx)
        Elementwise.add(f.data, f.data, o.data, n: f.count)
        return (f, Cache(ln1: c1, attn: ca, ln2: c2, mlp: cm))
    }

    /// dy [n, d] → dx [n, d]; accumulates every parameter gradient of the block.
    public func backward(_ dy: Tensor, _ cache: Cache, _ ctx: ForwardContext) -> Tensor {
        let dm = mlp.backward(branchGradient(dy, ".mlp.resid", ctx), cache.mlp)
        let dx1 = ln2.backward(dm, cache.ln2)
        Elementwise.accumulate(dx1.data, dy.data, n: dx1.count)
        let da = attn.backward(branchGradient(dx1, ".attn.resid", ctx), cache.attn, ctx)
        let dx = ln1.backward(da, cache.ln1)
        Elementwise.accumulate(dx.data, dx1.data, n: dx.count)
        return dx
    }
}
