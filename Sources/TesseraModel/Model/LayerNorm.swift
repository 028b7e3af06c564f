import TesseraKernels

/// LayerNorm with learned gain γ and bias β over the feature dimension.
public final class LayerNorm: @unchecked Sendable {
    /// γ [d], initialised to ones.
    public let gain: Parameter
    /// β [d], initialised to zeros.
    public let bias: Parameter

    /// What backward needs: the input and per-row statistics.
    public struct Cache {
        public let x: Tensor, mean: Tensor, rstd: Tensor
    }

    /// γ and β of `width` features, held whole by every rank of `tp` (see `Placement.replicated`).
    public init(name: String, width: Int, tp: TensorParallel = .single()) {
        gain = Parameter(name: name + ".weight", shape: [width], rule: .ones, placement: .replicated(over: tp))
        bias = Parameter(name: name + ".bias", shape: [width], rule: .zeros, placement: .replicated(over: tp))
    }

    var width: Int { gain.shape[0] }

    /// x [n, d] → y [n, d].
    public func forward(_ x: Tensor) -> (Tensor, Cache) {
        let n = x.count / width
        let y = Tensor(uninitialized: x.shape), mean = Tensor(uninitialized: [n]), rstd = Tensor(uninitialized: [n])
        LayerNormKernel.forward(y: y.data, mean: mean.data, rstd: rstd.data, x: x.data,
                                gamma: gain.value.data, beta: bias.value.data, n: n, c: width)
        return (y, Cache(x: x, mean: mean, rstd: rstd))
    }

    /// dy [n, d] → dx [n, d]; accumulates dγ, dβ.
    public func backward(_ dy: Tensor, _ cache: Cache) -> Tensor {
        let n = dy.count / width
        let dx = Tensor(uninitialized: dy.shape)
        LayerNormKernel.backward(dx: dx.data, dgamma: gain.grad.data, dbeta: bias.grad.data, dy: dy.data,
                                 x: cache.x.data, gamma: gain.value.data, mean: cache.mean.data,
                                 rstd: cache.rstd.data, n: n, c: width)
        return dx
    }
}
