/// Explicit 16-lane float vectors for kernel loops. LLVM does not vectorise
/// floating-point reductions on its own (it may not reassociate a sum), and
/// gives up on some elementwise loops; these helpers make the vector code
/// explicit. Reductions sum 16 interleaved partial sums and then the lanes
/// (by halving, `lanesSum`), a fixed order, so results are the same run after run.
public typealias Float16x = SIMD16<Float>

@inline(__always) func load(_ p: UnsafePointer<Float>) -> Float16x {
    UnsafeRawPointer(p).loadUnaligned(as: Float16x.self)
}
@inline(__always) func load(_ p: UnsafeMutablePointer<Float>) -> Float16x {
    UnsafeRawPointer(p).loadUnaligned(as: Float16x.self)
}
@inline(__always) func store(_ v: Float16x, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: Float16x.self)
}

/// Lane-wise maximum and minimum as one compare and one blend. The standard
/// library's `pointwiseMax`/`pointwiseMin` follow IEEE maxNum lane by lane:
/// they compile to an out-of-line scalar loop through memory (about a
/// twelfth of the speed; it was 7% of a prefill profile, inside every
/// `FastMath.exp`). The overloads are concrete on purpose: written once for
/// a generic `SIMD`, the comparison itself becomes such a loop. A NaN in `a`
/// is kept (propagated), a NaN in `b` ignored.
@inline(__always) @usableFromInline func lanewiseMax(_ a: Float16x, _ b: Float16x) -> Float16x { a.replacing(with: b, where: b .> a) }
@inline(__always) @usableFromInline func lanewiseMax(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
    a.replacing(with: b, where: b .> a)
}
@inline(__always) @usableFromInline func lanewiseMax(_ a: SIMD4<Float>, _ b: SIMD4<Float>) -> SIMD4<Float> {
    a.replacing(with: b, where: b .> a)
}
@inline(__always) @usableFromInline func lanewiseMax(_ a: SIMD2<Float>, _ b: SIMD2<Float>) -> SIMD2<Float> {
    a.replacing(with: b, where: b .> a)
}
@inline(__always) @usableFromInline func lanewiseMin(_ a: Float16x, _ b: Float16x) -> Float16x { a.replacing(with: b, where: b .< a) }

/// Σ of the 16 lanes by halving: ((v₀₋₇ + v₈₋₁₅) halved twice more), four
/// dependent vector adds. `SIMD.sum()` compiles to an out-of-line chain of
/// fifteen dependent scalar adds, which a dot product of one head's 64
/// floats (a decode step's score) paid once per key.
@inline(__always) func lanesSum(_ v: Float16x) -> Float {
    let a = v.lowHalf + v.highHalf, b = a.lowHalf + a.highHalf, c = b.lowHalf + b.highHalf
    return c[0] + c[1]
}

public enum Vector {
    /// Σ x[i], i < n.
    @inline(__always)
    public static func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = Float16x(), i = 0
        while i + 16 <= n { acc += load(x + i); i += 16 }
        var s = lanesSum(acc)
        while i < n { s += x[i]; i += 1 }
        return s
    }

    /// Σ x[i]·y[i], i < n.
    @inline(__always)
    public static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = Float16x(), i = 0
        while i + 16 <= n { acc += load(x + i) * load(y + i); i += 16 }
        var s = lanesSum(acc)
        while i < n { s += x[i] * y[i]; i += 1 }
        return s
    }

    /// max x[i], i < n (n ≥ 1).
    @inline(__always)
    public static func max(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = Float16x(repeating: -.infinity), i = 0
        while i + 16 <= n { acc = lanewiseMax(acc, load(x + i)); i += 16 }
        var m = lanesMax(acc)
        while i < n { m = Swift.max(m, x[i]); i += 1 }
        return m
    }

    /// The largest of the 16 lanes, by halving with vector maxima: the
    /// same value as `SIMD.max()` for any non-NaN lanes. `SIMD.max()` is a
    /// NaN-aware scalar loop that pulls each lane through memory. It runs
    /// once per score row, and in a perf profile of generation it was about
    /// a quarter of the attention kernels' own time outside the matrix products.
    @inline(__always)
    static func lanesMax(_ v: Float16x) -> Float {
        let a = lanewiseMax(v.lowHalf, v.highHalf), b = lanewiseMax(a.lowHalf, a.highHalf)
        let c = lanewiseMax(b.lowHalf, b.highHalf)
        return Swift.max(c[0], c[1])
    }

    /// x[i] ← e^(x[i] − shift) for i < n; returns Σ of the new values.
    @inline(__always)
    public static func expShiftSum(_ x: UnsafeMutablePointer<Float>, _ n: Int, shift: Float) -> Float {
        var acc = Float16x(), i = 0
        let s = Float16x(repeating: shift)
        while i + 16 <= n { let e = FastMath.exp(load(x + i) - s); store(e, x + i); acc += e; i += 16 }
        var total = lanesSum(acc)
        if i < n {  // tail: one vector exp for the last n − i (< 16) elements, moved through memory
            let rest = n - i  // (inserting lanes one by one compiles to a masked broadcast per element)
            var v = Float16x()
            withUnsafeMutableBytes(of: &v) { $0.baseAddress!.copyMemory(from: x + i, byteCount: rest * 4) }
            var e = FastMath.exp(v - s)
            withUnsafeBytes(of: &e) { (x + i).update(from: $0.baseAddress!.assumingMemoryBound(to: Float.self), count: rest) }
            for k in 0..<rest { total += x[i + k] }
        }
        return total
    }

    /// y[i] += a·x[i] for i < n.
    @inline(__always)
    public static func addScaled(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int, by a: Float) {
        var i = 0
        while i + 16 <= n { store(load(y + i) + a * load(x + i), y + i); i += 16 }
        while i < n { y[i] += a * x[i]; i += 1 }
    }

    /// x[i] *= a for i < n.
    @inline(__always)
    public static func scale(_ x: UnsafeMutablePointer<Float>, _ n: Int, by a: Float) {
        var i = 0
        while i + 16 <= n { store(load(x + i) * a, x + i); i += 16 }
        while i < n { x[i] *= a; i += 1 }
    }
}
