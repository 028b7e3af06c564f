import TesseraKernels

extension LayerNorm {
    /// x [n, d] += residual [n, d] in place (the residual stream's new
    /// value), then LayerNorm of it → y [n, d], in one pass per row
    /// (`LayerNormKernel.forward(addingResidual:)`); bitwise what
    /// `Elementwise.add` then `forward(x)` give. The cache holds x, the sum.
    public func forward(_ x: Tensor, addingResidual residual: Tensor) -> (Tensor, Cache) {
        precondition(x.count == residual.count, "a residual of \(residual.count) elements added to \(x.count)")
        let n = x.count / width
        let y = Tensor(uninitialized: x.shape), mean = Tensor(uninitialized: [n]), rstd = Tensor(uninitialized: [n])
        LayerNormKernel.forward(addingResidual: residual.data, to: x.data, y: y.data, mean: mean.data, rstd: rstd.data,
                                gamma: gain.value.data, beta: bias.value.data, n: n, c: width)
        return (y, Cache(x: x, mean: mean, rstd: rstd))
    }
}
