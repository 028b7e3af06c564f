/// Position-wise feed-forward: out = GELU(x·W_fcᵀ + b_fc)·W_outᵀ + b_out,
/// hidden width 4d (or its shard).
public final class MLP: @unchecked Sendable {
    /// Up projection, weight [4d, d].
    public let fc: Linear
    /// Down projection, weight [d, 4d].
    public let out: Linear

    /// Saved activations: the input, the pre-activation and the GELU output.
    public struct Cache {
        let x: Tensor, pre: Tensor, act: Tensor
    }

    public init(fc: Linear, out: Linear) {
        self.fc = fc
        self.out = out
    }

    /// x [n, d] → y [n, d].
    public func forward(_ x: Tensor) -> (Tensor, Cache) {
        let pre = fc.forward(x)
        let act = Tensor(uninitialized: pre.shape)
        GELUKernel.forward(y: act.data, x: pre.data, n: pre.count)
        return (out.forward(act), Cache(x: x, pre: pre, act: act))
    }

    /// dy [n, d] → dx [n, d]; accumulates the four parameter gradients.
    public func backward(_ dy: Tensor, _ cache: Cache) -> Tensor {
        let dact = out.backward(dy, input: cache.act)
        GELUKernel.backward(dx: dact.data, dy: dact.data, x: cache.pre.data, n: dact.count)
        return fc.backward(dact, input: cache.x)
    }
}
