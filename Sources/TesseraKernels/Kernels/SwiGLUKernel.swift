import Foundation

/// SwiGLU's gate (Shazeer 2020, Llama's feed-forward): h = silu(g) · u with
/// silu(g) = g·σ(g), elementwise over [n].
public enum SwiGLUKernel {
    @inline(__always) static func sigmoid(_ g: Float) -> Float { 1 / (1 + Foundation.exp(-g)) }

    /// h = silu(gate) · up.
    public static func forward(h: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>,
                               n: Int) {
        Compute.parallelRanges(n) { r in
            for i in r { let g = gate[i]; h[i] = g * sigmoid(g) * up[i] }
        }
    }

    /// From dh: dgate = dh · u · σ(g)(1 + g(1 − σ(g))), dup = dh · silu(g); both written over `gate` and `up`'s
    /// gradients `dgate`, `dup` (which may alias nothing of the inputs).
    public static func backward(dgate: UnsafeMutablePointer<Float>, dup: UnsafeMutablePointer<Float>,
                                dh: UnsafePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>, n: Int) {
        Compute.parallelRanges(n) { r in
            for i in r {
                let g = gate[i], s = sigmoid(g), d = dh[i]
                dup[i] = d * g * s
                dgate[i] = d * up[i] * s * (1 + g * (1 - s))
            }
        }
    }
}
