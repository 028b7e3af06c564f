/// LayerNorm over the last dimension: y = (x − μ)/√(σ² + ε) · γ + β.
///
/// Mean and variance use two passes over each row (mean first, then the sum
/// of squared deviations), which for rows of a few thousand floats is as
/// accurate as Welford's update and vectorises better. ε = 1e-5 as in PyTorch.
public enum LayerNormKernel {
    public static let epsilon: Float = 1e-5

    /// x, y: [n, c]; gamma, beta: [c]; mean, rstd: [n] (saved for backward).
    public static func forward(y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                               rstd: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                               gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, n: Int, c: Int) {
        Compute.parallelRanges(n) { rows in
            for i in rows { normalizeRow(i, y: y, mean: mean, rstd: rstd, x: x, gamma: gamma, beta: beta, c: c) }
        }
    }

    /// Row i of `forward` (also the second half of `forward(addingResidual:)`).
    @inline(__always)
    static func normalizeRow(_ i: Int, y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                             rstd: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                             gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, c: Int) {
        let xi = x + i * c, yi = y + i * c
        let m = Vector.sum(xi, c) / Float(c)
        var acc = Float16x(), j = 0
        while j + 16 <= c { let d = load(xi + j) - m; acc += d * d; j += 16 }
        var v = lanesSum(acc)
        while j < c { let d = xi[j] - m; v += d * d; j += 1 }
        let r = 1 / (v / Float(c) + epsilon).squareRoot()
        j = 0
        while j + 16 <= c { store((load(xi + j) - m) * r * load(gamma + j) + load(beta + j), yi + j); j += 16 }
        while j < c { yi[j] = (xi[j] - m) * r * gamma[j] + beta[j]; j += 1 }
        mean[i] = m
        rstd[i] = r
    }

    /// Writes dx [n, c] and accumulates dgamma, dbeta [c] from dy [n, c].
    /// With x̂ = (x−μ)·rstd and g = dy·γ:
    /// dx = rstd · (g − mean(g) − x̂ · mean(g·x̂)).
    /// Parameter gradients are summed per thread and then combined in thread
    /// order, so the result does not depend on scheduling.
    public static func backward(dx: UnsafeMutablePointer<Float>, dgamma: UnsafeMutablePointer<Float>,
                                dbeta: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>,
                                x: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
                                mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, n: Int, c: Int) {
        let parts = Compute.parts(for: n)
        let partials = Tensor([parts, 2, c])
        let acc = partials.data
        Compute.parallelParts(n, parts: parts) { part, parts in
            let dg = acc + part * 2 * c, db = dg + c
            for i in (n * part / parts)..<(n * (part + 1) / parts) {
                let xi = x + i * c, dyi = dy + i * c, dxi = dx + i * c
                let m = mean[i], r = rstd[i]
                var sG = Float16x(), sGX = Float16x(), j = 0
                while j + 16 <= c {
                    let xhat = (load(xi + j) - m) * r, d = load(dyi + j), g = d * load(gamma + j)
                    sG += g
                    sGX += g * xhat
                    store(load(dg + j) + d * xhat, dg + j)
                    store(load(db + j) + d, db + j)
                    j += 16
                }
                var sumG = lanesSum(sG), sumGX = lanesSum(sGX)
                while j < c {
                    let xhat = (xi[j] - m) * r, g = dyi[j] * gamma[j]
                    sumG += g; sumGX += g * xhat
                    dg[j] += dyi[j] * xhat; db[j] += dyi[j]
                    j += 1
                }
                let meanG = sumG / Float(c), meanGX = sumGX / Float(c)
                j = 0
                while j + 16 <= c {
                    let xhat = (load(xi + j) - m) * r
                    store(r * (load(dyi + j) * load(gamma + j) - meanG - xhat * meanGX), dxi + j)
                    j += 16
                }
                while j < c {
                    let xhat = (xi[j] - m) * r
                    dxi[j] = r * (dyi[j] * gamma[j] - meanG - xhat * meanGX)
                    j += 1
                }
            }
        }
        for p in 0..<parts {
            let dg = acc + p * 2 * c, db = dg + c
            for j in 0..<c { dgamma[j] += dg[j]; dbeta[j] += db[j] }
        }
    }
}
