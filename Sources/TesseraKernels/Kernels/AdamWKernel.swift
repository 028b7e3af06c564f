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
        run(p: p, g: g, scaled: nil, m: m, v: v, n: n, step: s)
    }

    /// The same update after scaling each gradient, g ← g·c (gradient
    /// clipping's min(1, max/‖g‖)), written back as a separate pass over the
    /// gradients would write it (the same float32 product), but in the same
    /// pass as the update: the gradients are read once, not twice.
    public static func update(p: UnsafeMutablePointer<Float>, scaling g: UnsafeMutablePointer<Float>, by c: Float,
                              m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>,
                              n: Int, step s: Step) {
        run(p: p, g: UnsafePointer(g), scaled: (g, c), m: m, v: v, n: n, step: s)
    }

    private static func run(p: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>,
                            scaled: (gradients: UnsafeMutablePointer<Float>, by: Float)?,
                            m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, n: Int, step s: Step) {
        let scale = scaled?.by ?? 1, scaledOut = scaled?.gradients
        let bc1 = 1 - Float(Double(s.beta1).power(s.t))
        let bc2 = 1 - Float(Double(s.beta2).power(s.t))
        let stepSize = s.lr / bc1, bc2Sqrt = bc2.squareRoot()
        let decay = 1 - s.lr * s.weightDecay
        let b1 = s.beta1, b2 = s.beta2, eps = s.eps
        // One expression for the scalar tail and the 16-lane body: the same
        // IEEE operations in the same order, so lanes and tail agree bitwise.
        // (LLVM leaves the plain loop scalar: it cannot rule out that p, g, m
        // and v overlap.)
        @inline(__always) func updated<V: SIMD>(_ p: V, _ g: V, _ m: V, _ v: V) -> (p: V, m: V, v: V)
        where V.Scalar == Float {
            let m = b1 * m + (1 - b1) * g
            let v = b2 * v + (1 - b2) * g * g
            return (p * decay - stepSize * m / (v.squareRoot() / bc2Sqrt + eps), m, v)
        }
        Compute.parallelRanges(n) { r in
            var i = r.lowerBound
            while i + 16 <= r.upperBound {
                var gi: SIMD16<Float> = load(g + i)
                if let scaledOut { gi = gi * scale; store(gi, scaledOut + i) }
                let u = updated(load(p + i), gi, load(m + i), load(v + i))
                store(u.m, m + i); store(u.v, v + i); store(u.p, p + i)
                i += 16
            }
            while i < r.upperBound {
                var gi = g[i]
                if let scaledOut { gi = gi * scale; scaledOut[i] = gi }
                let u = updated(SIMD2(repeating: p[i]), SIMD2(repeating: gi), SIMD2(repeating: m[i]),
                                SIMD2(repeating: v[i]))
                m[i] = u.m[0]; v[i] = u.v[0]; p[i] = u.p[0]
                i += 1
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
