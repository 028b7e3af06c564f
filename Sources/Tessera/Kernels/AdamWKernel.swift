/// One AdamW update (Loshchilov & Hutter), in PyTorch's formulation:
/// p ← p·(1 − lr·wd); m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
/// p ← p − (lr/(1−β1ᵗ)) · m / (√v/√(1−β2ᵗ) + ε).
public enum AdamWKernel {
    /// Hyper-parameters of one step.
    public struct Step: Sendable {
        public var lr: Float, beta1: Float, beta2: Float, eps: Float, weightDecay: Float
        /// 1-based step count (for bias correction).
        public var t: Int
        public init(lr: Float, beta1: Float, beta2: Float, eps: Float, weightDecay: Float, t: Int) {
            self.lr = lr; self.beta1 = beta1; self.beta2 = beta2; self.eps = eps
            self.weightDecay = weightDecay; self.t = t
        }
    }

    /// Updates n parameters in place from gradients `g` and moments `m`, `v`.
    public static func update(p: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>,
                              m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>,
                              n: Int, step s: Step) {
        let bc1 = 1 - Float(Double(s.beta1).power(s.t))
        let bc2 = 1 - Float(Double(s.beta2).power(s.t))
        let stepSize = s.lr / bc1, bc2Sqrt = bc2.squareRoot()
        let decay = 1 - s.lr * s.weightDecay
        let b1 = s.beta1, b2 = s.beta2, eps = s.eps
        Compute.parallelRanges(n) { r in
            for i in r {
                let gi = g[i]
                let mi = b1 * m[i] + (1 - b1) * gi
                let vi = b2 * v[i] + (1 - b2) * gi * gi
                m[i] = mi
                v[i] = vi
                p[i] = p[i] * decay - stepSize * mi / (vi.squareRoot() / bc2Sqrt + eps)
            }
        }
    }
}

extension Double {
    /// self raised to a non-negative integer power.
    func power(_ n: Int) -> Double {
        var r = 1.0, b = self, e = n
        while e > 0 { if e & 1 == 1 { r *= b }; b *= b; e >>= 1 }
        return r
    }
}
