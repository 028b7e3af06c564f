extension LayerNormKernel {
    /// The residual add and the LayerNorm that reads it, in one pass over
    /// each row: x[i, :] += residual[i, :], then y, mean, rstd as `forward`
    /// computes them from the sum. The row is normalized while it is still
    /// in cache instead of being written by one pass and read back by the
    /// next. Bitwise equal to `Elementwise.add` followed by `forward`: the
    /// same float32 additions, then the same row code (`normalizeRow`).
    /// x, residual, y: [n, c]; mean, rstd: [n].
    public static func forward(addingResidual residual: UnsafePointer<Float>, to x: UnsafeMutablePointer<Float>,
                               y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                               rstd: UnsafeMutablePointer<Float>, gamma: UnsafePointer<Float>,
                               beta: UnsafePointer<Float>, n: Int, c: Int) {
        Compute.parallelRanges(n) { rows in
            for i in rows {
                let xi = x + i * c, ri = residual + i * c
                for j in 0..<c { xi[j] = xi[j] + ri[j] }
                normalizeRow(i, y: y, mean: mean, rstd: rstd, x: x, gamma: gamma, beta: beta, c: c)
            }
        }
    }
}
