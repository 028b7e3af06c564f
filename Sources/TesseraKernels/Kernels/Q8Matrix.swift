import CDNNL

/// A float32 matrix W [rows, cols] quantized as llama.cpp's Q8_0 does:
/// each row is cut into blocks of 32 along `cols` (the contraction
/// dimension of y = x·Wᵀ), and each block keeps one scale and 32 int8
/// values, w ≈ d · q with d = max|w| / 127 (stored as an IEEE half, as
/// Q8_0 stores it) and q = round(w / d), rounding half away from zero
/// (llama.cpp's `quantize_row_q8_0_ref`). A row whose length is not a
/// multiple of 32 ends in a shorter block, padded with zero quants.
///
/// Memory: 1 byte per weight plus 4 bytes of scale per 32 (1.125 bytes,
/// against float32's 4), which is what a batch-1 decode step reads.
/// `multiply` quantizes a few rows of x to Q8_0 too and sums int8 × int8
/// products per block (llama.cpp's Q8_0 × Q8_0 dot), or for many rows
/// expands a tile of W to float32 and hands it to the float32 product.
public final class Q8Matrix: @unchecked Sendable {
    /// Weights per block (Q8_0's QK8_0).
    public static let blockSize = 32
    /// Rows (output features) and columns (input features) of W.
    public let rows: Int, cols: Int
    /// Blocks per row: ⌈cols / 32⌉.
    public let blocksPerRow: Int
    /// int8 quants, [rows, blocksPerRow, 32], padding zero.
    let quants: UnsafeMutablePointer<Int8>
    /// Each block's scale as an IEEE half (GGUF's Q8_0 stores exactly these bits), [rows, blocksPerRow].
    let scaleBits: UnsafeMutablePointer<UInt16>
    /// The same scales widened to float32, as the products read them.
    let scales: UnsafeMutablePointer<Float>

    /// Quantizes w [rows, cols] (row-major).
    public init(quantizing w: UnsafePointer<Float>, rows: Int, cols: Int) {
        precondition(rows > 0 && cols > 0, "a Q8 matrix needs rows and columns, got \(rows)×\(cols)")
        self.rows = rows; self.cols = cols
        let bpr = (cols + Self.blockSize - 1) / Self.blockSize
        blocksPerRow = bpr
        quants = .allocate(capacity: rows * bpr * Self.blockSize)
        scaleBits = .allocate(capacity: rows * bpr)
        scales = .allocate(capacity: rows * bpr)
        let q = quants, sb = scaleBits, s = scales
        Compute.parallelRanges(rows) { range in
            for r in range {
                for b in 0..<bpr {
                    let start = b * Self.blockSize, count = min(Self.blockSize, cols - start)
                    let src = w + r * cols + start, block = (r * bpr + b)
                    let dst = q + block * Self.blockSize
                    var amax: Float = 0
                    for j in 0..<count { amax = max(amax, abs(src[j])) }
                    let d = amax / 127
                    let inverse: Float = d != 0 ? 1 / d : 0
                    for j in 0..<count { dst[j] = Int8((src[j] * inverse).rounded()) }
                    for j in count..<Self.blockSize { dst[j] = 0 }
                    let half = Float16(d)
                    sb[block] = half.bitPattern
                    s[block] = Float(half)
                }
            }
        }
    }

    deinit {
        quants.deallocate(); scaleBits.deallocate(); scales.deallocate()
    }

    /// Bytes held: quants plus float32 and half scales.
    public var bytes: Int { rows * blocksPerRow * (Self.blockSize + 6) }

    /// Row `r`'s weights as float32 (d · q), written to `out` [cols].
    public func dequantizeRow(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        let full = cols / Self.blockSize
        tessera_q8_dequantize(quants + r * blocksPerRow * Self.blockSize, scales + r * blocksPerRow, full, out)
        if full < blocksPerRow {
            let start = full * Self.blockSize
            let d = scales[r * blocksPerRow + full], q = quants + (r * blocksPerRow + full) * Self.blockSize
            for j in 0..<(cols - start) { out[start + j] = d * Float(q[j]) }
        }
    }

    /// The whole matrix dequantized, [rows, cols] row-major.
    public func dequantized() -> [Float] {
        var out = [Float](repeating: 0, count: rows * cols)
        out.withUnsafeMutableBufferPointer { o in for r in 0..<rows { dequantizeRow(r, into: o.baseAddress! + r * cols) } }
        return out
    }

    /// Block `block`'s Q8_0 record as GGUF lays it out: the half scale's
    /// two bytes (little-endian) then the 32 quants; `body` reads them.
    public func withBlock<T>(row r: Int, block b: Int, _ body: (UInt16, UnsafeBufferPointer<Int8>) throws -> T) rethrows -> T {
        let i = r * blocksPerRow + b
        return try body(scaleBits[i], UnsafeBufferPointer(start: quants + i * Self.blockSize, count: Self.blockSize))
    }

    /// Rows of x up to which `multiply` quantizes x and runs the int8 × int8
    /// product; more rows take the tiled float32 product (see `multiply`).
    public static let int8ProductRows = 8

    /// y [n, rows] = x [n, cols] · Wᵀ, or y += it when `accumulate`.
    ///
    /// Up to `int8ProductRows` rows of x (decode steps): x is quantized to
    /// Q8_0 blocks (`Q8Activations`) and each output is Σ_b d_w·d_x·Σ q_w·q_x
    /// with exact int32 block sums (CDNNL/q8_dot.h: AVX-512 VNNI where the
    /// build targets it), as llama.cpp's Q8_0 × Q8_0 dot product computes it;
    /// every weight block is read once for up to 4 rows of x, output features
    /// split across `Compute.threads`. So the result carries x's quantization
    /// error as well as W's. More rows: tiles of 64 rows of W expanded to
    /// float32 and multiplied by the float32 product (float32 activations).
    public func multiply(_ x: UnsafePointer<Float>, rows n: Int, into y: UnsafeMutablePointer<Float>,
                         accumulate: Bool, parallel: Bool = true) {
        guard n > 0 else { return }
        if n <= Self.int8ProductRows {
            let a = Q8Activations(quantizing: x, rows: n, cols: cols)
            let threads = parallel && rows * cols >= 1 << 16 ? Compute.threads : 1
            Compute.withThreads(threads) {
                Compute.parallelRanges(rows) { outputs in dotRows(a, outputs, y, accumulate) }
            }
            return
        }
        let tile = 64, tiles = (rows + tile - 1) / tile
        Compute.withThreads(parallel ? Compute.threads : 1) {
            Compute.parallelRanges(tiles) { range in
                let w = Tensor(uninitialized: [tile, cols])
                for t in range {
                    let r0 = t * tile, count = min(tile, rows - r0)
                    for r in 0..<count { dequantizeRow(r0 + r, into: w.data + r * cols) }
                    BLAS.gemm(transA: false, transB: true, m: n, n: count, k: cols, a: x, lda: cols, b: w.data, ldb: cols,
                              beta: accumulate ? 1 : 0, c: y + r0, ldc: rows, parallel: false)
                }
            }
        }
    }

    /// y[i, o] (+)= Σ_b d[o,b] · d_x[i,b] · Σ_j q[o,b,j] · q_x[i,b,j] for
    /// every row i of `a` and the outputs o in `outputs` (y's row stride is
    /// `rows`), 4 rows of x per pass over a weight row, in C
    /// (`tessera_q8q8_dot_rows`, CDNNL/q8_dot.h). Padding quants are zero on
    /// both sides, so whole blocks cover a short last one.
    @inline(__always)
    private func dotRows(_ a: Q8Activations, _ outputs: Range<Int>, _ y: UnsafeMutablePointer<Float>,
                         _ accumulate: Bool) {
        let bpr = blocksPerRow, n = a.rows, stride = bpr * Self.blockSize
        var sums = SIMD4<Float>()
        for o in outputs {
            let qRow = quants + o * stride, sRow = scales + o * bpr
            var i = 0
            while i < n {
                let m = min(4, n - i)
                withUnsafeMutableBytes(of: &sums) { raw in
                    tessera_q8q8_dot_rows(qRow, sRow, a.quants + i * stride, stride, a.scales + i * bpr, Int32(m), bpr,
                                          raw.baseAddress!.assumingMemoryBound(to: Float.self))
                }
                for r in 0..<m {
                    let out = y + (i + r) * rows + o
                    out.pointee = accumulate ? out.pointee + sums[r] : sums[r]
                }
                i += m
            }
        }
    }
}
