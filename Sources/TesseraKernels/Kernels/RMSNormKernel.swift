/// RMSNorm over the last dimension (Zhang & Sennrich 2019, Llama's norm):
/// y = x · rstd · γ with rstd = 1/√(mean(x²) + ε).
///
/// The statistic is a float32 sum of squares per row, as Hugging Face's
/// `LlamaRMSNorm` computes it (it upcasts to float32 before `pow(2).mean`);
/// γ multiplies after normalising, also as there.
public enum RMSNormKernel {
    /// x, y: [n, c]; gamma: [c]; rstd: [n] (saved for backward).
    public static func forward(y: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
                               x: UnsafePointer<Float>, gamma: UnsafePointer<Float>, n: Int, c: Int, eps: Float) {
        Compute.parallelRanges(n) { rows in
            for i in rows {
                let xi = x + i * c, yi = y + i * c
                var ss: Float = 0
                for j in 0..<c { ss += xi[j] * xi[j] }
                let r = 1 / (ss / Float(c) + eps).squareRoot()
                for j in 0..<c { yi[j] = gamma[j] * (xi[j] * r) }
                rstd[i] = r
            }
        }
    }

    /// Writes dx [n, c] and accumulates dgamma [c] from dy [n, c]. With
    /// x̂ = x·rstd and g = dy·γ: dx = rstd · (g − x̂ · mean(g·x̂)); dγ += Σ_rows dy·x̂.
    /// The rows' dγ are summed per part and the parts added in order.
    public static func backward(dx: UnsafeMutablePointer<Float>, dgamma: UnsafeMutablePointer<Float>,
                                dy: UnsafePointer<Float>, x: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
                                rstd: UnsafePointer<Float>, n: Int, c: Int) {
        let parts = Compute.parts(for: n)
        let partials = Tensor([parts, c])
        let acc = partials.data
        Compute.parallelParts(n, parts: parts) { part, parts in
            let dg = acc + part * c
            for i in (n * part / parts)..<(n * (part + 1) / parts) {
                let xi = x + i * c, dyi = dy + i * c, dxi = dx + i * c, r = rstd[i]
                var sumGX: Float = 0
                for j in 0..<c {
                    let xhat = xi[j] * r
                    sumGX += dyi[j] * gamma[j] * xhat
                    dg[j] += dyi[j] * xhat
                }
                let meanGX = sumGX / Float(c)
                for j in 0..<c { dxi[j] = r * (dyi[j] * gamma[j] - xi[j] * r * meanGX) }
            }
        }
        for p in 0..<parts {
            let dg = acc + p * c
            for j in 0..<c { dgamma[j] += dg[j] }
        }
    }
}
