/// GELU, tanh form (as GPT-2 and `F.gelu(approximate="tanh")`):
/// y = ½x(1 + tanh(u)), u = √(2/π)(x + 0.044715x³).
public enum GELUKernel {
    static let s: Float = 0.797_884_560_802_865_4  // √(2/π)
    static let c: Float = 0.044_715

    @_transparent static func value(_ v: Float16x) -> Float16x {
        let t: Float16x = FastMath.tanh(s * (v + c * v * v * v))
        return (0.5 * v) * (1 + t)
    }

    @_transparent static func derivative(_ v: Float16x) -> Float16x {
        let v2: Float16x = v * v
        let t: Float16x = FastMath.tanh(s * (v + c * v2 * v))
        let du: Float16x = s * (1 + (3 * c) * v2)
        let half: Float16x = 0.5 * (1 + t)
        return half + (0.5 * v) * (1 - t * t) * du
    }

    /// Applies `f` to 16-lane blocks of 0..<n in parallel (tail padded through a temporary).
    @inline(__always)
    static func map(_ n: Int, _ f: (Int, Int) -> Void) {
        Compute.parallelRanges((n + 15) / 16) { blocks in
            for b in blocks { f(b * 16, Swift.min(16, n - b * 16)) }
        }
    }

    /// y, x: [n].
    public static func forward(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, n: Int) {
        map(n) { i, len in
            if len == 16 { store(value(load(x + i)), y + i); return }
            var v = Float16x(); for k in 0..<len { v[k] = x[i + k] }
            let r = value(v); for k in 0..<len { y[i + k] = r[k] }
        }
    }

    /// dx = dy · (½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²)); dx may alias dy.
    public static func backward(dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>,
                                x: UnsafePointer<Float>, n: Int) {
        map(n) { i, len in
            if len == 16 { store(load(dy + i) * derivative(load(x + i)), dx + i); return }
            var v = Float16x(); for k in 0..<len { v[k] = x[i + k] }
            let r = derivative(v); for k in 0..<len { dx[i + k] = dy[i + k] * r[k] }
        }
    }
}
