import CDNNL

/// Rows of activations x [rows, cols] quantized to Q8_0 blocks for
/// `Q8Matrix`'s int8 × int8 product, as llama.cpp quantizes the activation
/// side of its Q8_0 dot products (`quantize_row_q8_0`): each row cut into
/// blocks of 32 along `cols`, d = max|x| / 127 per block and
/// q = round(x / d) half away from zero, the last block padded with zeros.
/// Unlike a Q8_0 weight, d stays in float32 (llama.cpp rounds it to a half);
/// the quants are the same, as both round x·(1/d) with d in float32. Each
/// block also keeps 128·Σ q, which the product takes off its sums
/// (CDNNL/q8_dot.h: the weights are stored +128, unsigned).
///
/// Memory: rows · ⌈cols/32⌉ · (32 + 8) bytes, allocated per product call (a
/// decode step's row is 0.6–2.5 KB at widths 512–2048).
public final class Q8Activations {
    /// Rows and their length in values, and whole blocks per row (⌈cols/32⌉).
    public let rows: Int, cols: Int, blocks: Int
    /// Quants [rows, blocks, 32].
    let quants: UnsafeMutablePointer<Int8>
    /// Scales [rows, blocks].
    let scales: UnsafeMutablePointer<Float>
    /// 128 · Σ q of each block [rows, blocks].
    let corrections: UnsafeMutablePointer<Int32>

    /// Quantizes x [rows, cols] (row-major) on the calling thread.
    public init(quantizing x: UnsafePointer<Float>, rows: Int, cols: Int) {
        precondition(rows > 0 && cols > 0, "Q8 activations need rows and columns, got \(rows)×\(cols)")
        self.rows = rows; self.cols = cols
        blocks = (cols + Q8Matrix.blockSize - 1) / Q8Matrix.blockSize
        quants = .allocate(capacity: rows * blocks * Q8Matrix.blockSize)
        scales = .allocate(capacity: rows * blocks)
        corrections = .allocate(capacity: rows * blocks)
        for r in 0..<rows {
            tessera_q8_quantize_row(x + r * cols, cols, blocks, quants + r * blocks * Q8Matrix.blockSize,
                                    scales + r * blocks, corrections + r * blocks)
        }
    }

    deinit { quants.deallocate(); scales.deallocate(); corrections.deallocate() }

    /// Row `r`'s quants [blocks · 32] (zero-padded) and scales [blocks].
    public func row(_ r: Int) -> (quants: [Int8], scales: [Float]) {
        let n = blocks * Q8Matrix.blockSize
        return (Array(UnsafeBufferPointer(start: quants + r * n, count: n)),
                Array(UnsafeBufferPointer(start: scales + r * blocks, count: blocks)))
    }

    /// The int8 kernel this build compiled (CDNNL/q8_dot.h, for the build's target CPU).
    public static var kernel: String {
        switch tessera_q8_dot_isa() {
        case 2: "avx512_vnni"
        case 1: "avx2"
        default: "c"
        }
    }
}
