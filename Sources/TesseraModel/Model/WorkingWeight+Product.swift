import TesseraKernels

extension WorkingWeight {
    /// y [n, out] = x [n, in] · Wᵀ (+ y when `accumulate`), W [out, in]
    /// read in the form this weight holds: its int8 blocks when quantized
    /// (generation with `--weights int8`), else the operand at `precision`
    /// with x rounded to the same precision. The forward product of the
    /// linear layers and the tied head.
    public func multiplyTransposed(_ x: Tensor, rows n: Int, accumulate: Bool, into y: UnsafeMutablePointer<Float>) {
        let out = parameter.shape[0], k = parameter.shape[1]
        if let quantized {
            quantized.multiply(x.data, rows: n, into: y, accumulate: accumulate)
            return
        }
        BLAS.gemm(transA: false, transB: true, m: n, n: out, k: k, a: precision.operand(x), lda: k,
                  b: operand, ldb: k, beta: accumulate ? 1 : 0, c: y, ldc: out)
    }

    /// Quantizes the weight's current value to int8 blocks (`Q8Matrix`),
    /// which the forward product reads from then on; products run at fp32
    /// on the activations. Training never quantizes: a changed value would not reach the blocks.
    public func quantize() {
        precision = .fp32
        let value = parameter.value
        quantized = Q8Matrix(quantizing: value.data, rows: parameter.shape[0], cols: parameter.shape[1])
    }

    /// Drops the int8 blocks: products read the float32 or bf16 operand again.
    public func dropQuantized() { quantized = nil }
}
