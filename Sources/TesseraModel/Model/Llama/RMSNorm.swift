import TesseraKernels

/// RMSNorm with a learned gain γ and no bias (Llama's `input_layernorm`,
/// `post_attention_layernorm` and final `norm`); statistics in float32
/// (`RMSNormKernel`).
public final class RMSNorm: RowNormalization, @unchecked Sendable {
    /// γ [d], initialised to ones.
    public let gain: Parameter
    /// ε added to the mean square.
    public let eps: Float

    /// What backward needs: the input [n, d] and each row's 1/rms [n].
    public struct Cache: LayerCache {
        public let x: Tensor, rstd: Tensor
        public var tensors: [Tensor] { [x, rstd] }
    }

    /// γ of `width` features, held whole by every rank of `tp` (see `Placement.replicated`).
    public init(name: String, width: Int, eps: Float, tp: TensorParallel = .single()) {
        gain = Parameter(name: name + ".weight", shape: [width], rule: .ones, placement: .replicated(over: tp))
        self.eps = eps
    }

    var width: Int { gain.shape[0] }

    public var parameters: [Parameter] { [gain] }

    /// x [n, d] → y [n, d].
    public func forward(_ x: Tensor) -> (Tensor, Cache) {
        let n = x.count / width
        let y = Tensor(uninitialized: x.shape), rstd = Tensor(uninitialized: [n])
        RMSNormKernel.forward(y: y.data, rstd: rstd.data, x: x.data, gamma: gain.value.data, n: n, c: width, eps: eps)
        return (y, Cache(x: x, rstd: rstd))
    }

    /// dy [n, d] → dx [n, d]; accumulates dγ.
    public func backward(_ dy: Tensor, _ cache: Cache) -> Tensor {
        let n = dy.count / width
        let dx = Tensor(uninitialized: dy.shape)
        RMSNormKernel.backward(dx: dx.data, dgamma: gain.grad.data, dy: dy.data, x: cache.x.data,
                               gamma: gain.value.data, rstd: cache.rstd.data, n: n, c: width)
        return dx
    }

    public func normalize(_ x: Tensor) -> (Tensor, any LayerCache) { forward(x) }
    public func normalizeBackward(_ dy: Tensor, _ cache: any LayerCache) -> Tensor { backward(dy, cache as! Cache) }
}
