import TesseraKernels

/// y = x·Wᵀ + b, with W stored [out, in] as in PyTorch.
///
/// Backward is split in two halves so zero-bubble pipelines can defer the
/// second: `backwardInput` (dx = dy·W) and `backwardWeight`
/// (dW += dyᵀ·x, db += Σ_rows dy).
///
/// Its three products run at `precision`: under bf16 the inputs (x, dy) are
/// rounded to bf16 as they enter a product and the weight is read from a
/// bf16 working copy, made on first use and refreshed once per optimizer step
/// (`workingWeight`); outputs, dW and db stay float32.
public final class Linear: @unchecked Sendable {
    /// Weight [out, in].
    public let weight: Parameter
    /// Bias [out], or nil.
    public let bias: Parameter?
    /// The weight as this layer's products read it.
    public let workingWeight: WorkingWeight

    public init(weight: Parameter, bias: Parameter?) {
        self.weight = weight
        self.bias = bias
        workingWeight = WorkingWeight(weight)
    }

    /// The precision of this layer's products (the model sets it).
    public var precision: Precision {
        get { workingWeight.precision }
        set { workingWeight.precision = newValue }
    }

    /// Input features (columns of W).
    public var inFeatures: Int { weight.shape[1] }
    /// Output features (rows of W).
    public var outFeatures: Int { weight.shape[0] }

    /// x [n, in] → y [n, out]. With `includeBias: false` the bias is left
    /// out (a row-parallel layer adds it after reducing the partial sums).
    public func forward(_ x: Tensor, includeBias: Bool = true) -> Tensor {
        let n = x.count / inFeatures
        let y = Tensor(uninitialized: [n, outFeatures])
        let bias = includeBias ? self.bias : nil
        if let bias {
            for i in 0..<n { (y.data + i * outFeatures).update(from: bias.value.data, count: outFeatures) }
        }
        workingWeight.multiplyTransposed(x, rows: n, accumulate: bias != nil, into: y.data)
        return y
    }

    /// dy [n, out] → dx [n, in] = dy·W.
    public func backwardInput(_ dy: Tensor) -> Tensor {
        let n = dy.count / outFeatures
        let dx = Tensor(uninitialized: [n, inFeatures])
        BLAS.gemm(transA: false, transB: false, m: n, n: inFeatures, k: outFeatures,
                  a: precision.operand(dy), lda: outFeatures, b: workingWeight.operand, ldb: inFeatures,
                  c: dx.data, ldc: inFeatures)
        return dx
    }

    /// dW [out, in] += dyᵀ·x; db [out] += Σ_rows dy (unless `includeBias` is false).
    public func backwardWeight(_ dy: Tensor, input x: Tensor, includeBias: Bool = true) {
        let n = dy.count / outFeatures
        BLAS.gemm(transA: true, transB: false, m: outFeatures, n: inFeatures, k: n,
                  a: precision.operand(dy), lda: outFeatures, b: precision.operand(x), ldb: inFeatures,
                  beta: 1, c: weight.grad.data, ldc: inFeatures)
        if includeBias, let bias { Elementwise.sumRows(into: bias.grad.data, dy.data, rows: n, c: outFeatures) }
    }

    /// Both halves: accumulates dW, db and returns dx.
    public func backward(_ dy: Tensor, input x: Tensor) -> Tensor {
        backwardWeight(dy, input: x)
        return backwardInput(dy)
    }
}
