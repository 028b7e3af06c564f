/// Branch-free 16-lane exp and tanh, used inside kernel loops
/// (a call to libm's expf per element would be ten times slower).
///
/// `exp(x)`: split x = n·ln2 + r with |r| ≤ ln2/2 (ln2 in two parts, so r is
/// exact to ~1e-10), evaluate Cephes' degree-6 minimax polynomial for e^r
/// (error below 1 ulp on that interval), and scale by 2^n through the
/// exponent bits. Rounding x·log2(e) to the integer n uses the 1.5·2²³ trick:
/// adding it leaves n in the low mantissa bits (round to nearest even), so
/// neither a rounding call nor a float→int conversion is needed. Inputs are
/// clamped to [-87, 88], where e^x stays a normal float (softmax and GELU
/// saturate there anyway); a NaN input gives NaN.
public enum FastMath {
    @_transparent
    public static func exp(_ x0: Float16x) -> Float16x {
        let x = lanewiseMin(lanewiseMax(x0, Float16x(repeating: -87)), Float16x(repeating: 88))
        let magic = Float16x(repeating: 12_582_912)  // 1.5·2²³
        let shifted = x * 1.442_695_04 + magic
        let n = shifted - magic
        let r = x - n * 0.693_359_375 + n * 2.121_944_4e-4
        var p = Float16x(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_950_7e-3
        p = p * r + 8.333_451_907_3e-3
        p = p * r + 4.166_579_589_4e-2
        p = p * r + 1.666_666_545_9e-1
        p = p * r + 5.000_000_120_1e-1
        let er = p * r * r + r + 1
        let bits = (unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- (0x4B40_0000 - 127)) &<< 23
        return er * unsafeBitCast(bits, to: Float16x.self)
    }

    /// tanh(x) = 1 − 2/(e^{2x}+1). Near zero the subtraction loses relative
    /// (not absolute) accuracy, ~1e-7 absolute, which GELU's 1 + tanh absorbs.
    @_transparent
    public static func tanh(_ x: Float16x) -> Float16x {
        let clamped = lanewiseMin(lanewiseMax(x, Float16x(repeating: -9)), Float16x(repeating: 9))
        return 1 - 2 / (exp(2 * clamped) + 1)
    }
}
