import Foundation

/// SwiGLU's gate (Shazeer 2020, Llama's feed-forward): h = silu(g) · u with
/// silu(g) = g·σ(g), elementwise over [n], 16 lanes at a time with
/// `FastMath.exp` (below 1 ulp from libm's expf per element, which this
/// kernel called before and which made it the largest non-product cost of
/// a Llama step).
public enum SwiGLUKernel {
    /// σ(g) = 1/(1 + e^−g).
    @_transparent static func sigmoid(_ g: Float16x) -> Float16x { 1 / (1 + FastMath.exp(-g)) }

    /// Loads 16 lanes at i (fewer at the tail, the rest zero).
    @inline(__always) static func lanes(_ p: UnsafePointer<Float>, _ i: Int, _ len: Int) -> Float16x {
        if len == 16 { return load(p + i) }
        var v = Float16x(); for k in 0..<len { v[k] = p[i + k] }
        return v
    }

    /// Stores the first `len` lanes of v at i.
    @inline(__always) static func put(_ v: Float16x, _ p: UnsafeMutablePointer<Float>, _ i: Int, _ len: Int) {
        if len == 16 { store(v, p + i); return }
        for k in 0..<len { p[i + k] = v[k] }
    }

    /// h = silu(gate) · up.
    public static func forward(h: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>,
                               n: Int) {
        GELUKernel.map(n) { i, len in
            let g = lanes(gate, i, len)
            put(g * sigmoid(g) * lanes(up, i, len), h, i, len)
        }
    }

    /// From dh: dgate = dh · u · σ(g)(1 + g(1 − σ(g))), dup = dh · silu(g); both written over `gate` and `up`'s
    /// gradients `dgate`, `dup` (which may alias nothing of the inputs).
    public static func backward(dgate: UnsafeMutablePointer<Float>, dup: UnsafeMutablePointer<Float>,
                                dh: UnsafePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>, n: Int) {
        GELUKernel.map(n) { i, len in
            let g = lanes(gate, i, len), s = sigmoid(g), d = lanes(dh, i, len)
            put(d * g * s, dup, i, len)
            put(d * lanes(up, i, len) * s * (1 + g * (1 - s)), dgate, i, len)
        }
    }
}
