/// bfloat16: the upper 16 bits of a float32 (8 exponent bits, 7 stored
/// mantissa bits). Rounding a float32 to bf16 is round-to-nearest, ties to
/// even, on the bit pattern: add 0x7FFF plus the lowest kept bit, then drop
/// the low 16 bits. Overflow rounds to ±infinity as IEEE rounding does; NaN
/// stays a (quiet) NaN instead of letting the carry turn it into infinity.
///
/// A bf16 value is exactly a float32 whose low 16 bits are zero, and the
/// product of two bf16 values is exact in float32 (8 + 8 significant bits
/// fit in 24). So a product of bf16-rounded float32 matrices summed in
/// float32 computes what a bf16 × bf16 → float32 instruction computes, up to
/// the order of the sums: the emulated path of `--precision bf16`.
public enum BF16 {
    /// The bf16 nearest to `x`, as a float32 bit pattern with the low 16 bits
    /// zero. Written as a scalar select so LLVM vectorises the loops below
    /// (explicit SIMD16 masks compiled to scalar code here, 30× slower).
    @inline(__always)
    static func roundedBits(_ x: Float) -> UInt32 {
        let u = x.bitPattern
        let r = (u & 0x7FFF_FFFF) > 0x7F80_0000 ? u | 0x0040_0000 : u &+ 0x7FFF &+ ((u >> 16) & 1)
        return r & 0xFFFF_0000
    }

    /// The bf16 nearest to `x`, as its 16-bit pattern.
    public static func bits(_ x: Float) -> UInt16 { UInt16(truncatingIfNeeded: roundedBits(x) >> 16) }

    /// The bf16 nearest to `x`, as a float32.
    public static func rounded(_ x: Float) -> Float { Float(bitPattern: roundedBits(x)) }

    /// Runs `body` over 0..<n, split across the kernel threads when n is
    /// large enough to pay for it (these loops run at memory speed).
    @inline(__always)
    static func elementwise(_ n: Int, _ body: (Range<Int>) -> Void) {
        if n < 1 << 16 { body(0..<n) } else { Compute.parallelRanges(n, body) }
    }

    /// dst[i] = bf16(src[i]) kept as float32, for i < n (dst may be src).
    public static func round(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, count n: Int) {
        elementwise(n) { r in for i in r { dst[i] = Float(bitPattern: roundedBits(src[i])) } }
    }

    /// dst[i] = bf16(src[i]) as 16-bit patterns, for i < n.
    public static func pack(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<UInt16>, count n: Int) {
        elementwise(n) { r in for i in r { dst[i] = UInt16(truncatingIfNeeded: roundedBits(src[i]) >> 16) } }
    }

    /// dst[i] = the float32 value of the bf16 pattern src[i], for i < n.
    public static func unpack(_ src: UnsafePointer<UInt16>, into dst: UnsafeMutablePointer<Float>, count n: Int) {
        elementwise(n) { r in for i in r { dst[i] = Float(bitPattern: UInt32(src[i]) << 16) } }
    }
}
