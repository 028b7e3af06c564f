import CDNNL

/// A float32 matrix W [rows, cols] quantized as llama.cpp's Q8_0 does:
/// each row is cut into blocks of 32 along `cols` (the contraction
/// dimension of y = x·Wᵀ), and each block keeps one scale and 32 int8
/// values, w ≈ d · q with d = max|w| / 127 (stored as an IEEE half, as
/// Q8_0 stores it) and q = round(w / d), rounding half away from zero
/// (llama.cpp's `quantize_row_q8_0_ref`). A row whose length is not a
/// multiple of 32 ends in a shorter block, padded with zero quants.
///
/// Layout: rows in tiles of 16 (the last padded with zero rows), each
/// tile's blocks interleaved four bytes at a time across its 16 rows and
/// stored +128 as unsigned bytes (CDNNL/q8_dot.h), so one AVX-512 VNNI
/// instruction adds 4 products to 16 rows' sums; `withBlock` gives any
/// block back in GGUF's order.
///
/// Memory: 1 byte per weight plus 4 bytes of scale per 32 (1.125 bytes,
/// against float32's 4), which is what a decode step reads; 2 more bytes
/// per 32 keep the half scales GGUF stores.
public final class Q8Matrix: @unchecked Sendable {
    /// Weights per block (Q8_0's QK8_0).
    public static let blockSize = 32
    /// Rows per tile (`TESSERA_Q8_TILE`).
    static let tileRows = 16
    /// Rows (output features) and columns (input features) of W.
    public let rows: Int, cols: Int
    /// Blocks per row: ⌈cols / 32⌉.
    public let blocksPerRow: Int
    /// Tiles of 16 rows: ⌈rows / 16⌉.
    let tiles: Int
    /// Quants + 128, [tiles, blocksPerRow, 8 groups, 16 rows, 4] (`tessera_q8_tile_offset`).
    let quants: UnsafeMutablePointer<UInt8>
    /// Each block's scale as an IEEE half (GGUF's Q8_0 stores exactly these bits), [rows, blocksPerRow].
    let scaleBits: UnsafeMutablePointer<UInt16>
    /// The same scales widened to float32, as the products read them, [tiles, blocksPerRow, 16].
    let scales: UnsafeMutablePointer<Float>

    /// Quantizes w [rows, cols] (row-major).
    public init(quantizing w: UnsafePointer<Float>, rows: Int, cols: Int) {
        precondition(rows > 0 && cols > 0, "a Q8 matrix needs rows and columns, got \(rows)×\(cols)")
        self.rows = rows; self.cols = cols
        let bpr = (cols + Self.blockSize - 1) / Self.blockSize, tiles = (rows + Self.tileRows - 1) / Self.tileRows
        blocksPerRow = bpr
        self.tiles = tiles
        quants = .allocate(capacity: tiles * bpr * Self.tileRows * Self.blockSize)
        quants.update(repeating: 128, count: tiles * bpr * Self.tileRows * Self.blockSize)
        scaleBits = .allocate(capacity: rows * bpr)
        scales = .allocate(capacity: tiles * bpr * Self.tileRows)
        scales.update(repeating: 0, count: tiles * bpr * Self.tileRows)
        let q = quants, sb = scaleBits, s = scales
        Compute.parallelRanges(tiles) { range in
            for t in range {
                for r in (t * Self.tileRows)..<min(rows, (t + 1) * Self.tileRows) {
                    let l = Int32(r - t * Self.tileRows), tile = q + t * bpr * Self.tileRows * Self.blockSize
                    for b in 0..<bpr {
                        let start = b * Self.blockSize, count = min(Self.blockSize, cols - start)
                        let src = w + r * cols + start
                        var amax: Float = 0
                        for j in 0..<count { amax = max(amax, abs(src[j])) }
                        let d = amax / 127
                        let inverse: Float = d != 0 ? 1 / d : 0
                        for j in 0..<count {
                            tile[tessera_q8_tile_offset(b, l, Int32(j))] = UInt8(Int((src[j] * inverse).rounded()) + 128)
                        }
                        let half = Float16(d)
                        sb[r * bpr + b] = half.bitPattern
                        s[(t * bpr + b) * Self.tileRows + Int(l)] = Float(half)
                    }
                }
            }
        }
    }

    deinit {
        quants.deallocate(); scaleBits.deallocate(); scales.deallocate()
    }

    /// Bytes held: quants and float32 scales of every tile, and the half scales.
    public var bytes: Int { tiles * blocksPerRow * Self.tileRows * (Self.blockSize + 4) + rows * blocksPerRow * 2 }

    /// Row `r`'s weights as float32 (d · q), written to `out` [cols].
    public func dequantizeRow(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        let t = r / Self.tileRows, l = r % Self.tileRows
        withUnsafeTemporaryAllocation(of: Float.self, capacity: Self.tileRows * cols) { tile in
            dequantize(tile: t, into: tile.baseAddress!)
            out.update(from: tile.baseAddress! + l * cols, count: cols)
        }
    }

    /// Tile `t`'s rows as float32, [min(16, rows − 16t), cols] at `out`.
    func dequantize(tile t: Int, into out: UnsafeMutablePointer<Float>) {
        tessera_q8_dequantize_tile(quants + t * blocksPerRow * Self.tileRows * Self.blockSize,
                                   scales + t * blocksPerRow * Self.tileRows, blocksPerRow, cols,
                                   Int32(min(Self.tileRows, rows - t * Self.tileRows)), out, cols)
    }

    /// The whole matrix dequantized, [rows, cols] row-major.
    public func dequantized() -> [Float] {
        var out = [Float](repeating: 0, count: tiles * Self.tileRows * cols)
        out.withUnsafeMutableBufferPointer { o in
            for t in 0..<tiles { dequantize(tile: t, into: o.baseAddress! + t * Self.tileRows * cols) }
        }
        return Array(out.prefix(rows * cols))
    }

    /// Block `block`'s Q8_0 record as GGUF lays it out: the half scale's
    /// two bytes (little-endian) then the 32 quants; `body` reads them.
    public func withBlock<T>(row r: Int, block b: Int, _ body: (UInt16, UnsafeBufferPointer<Int8>) throws -> T) rethrows -> T {
        let t = r / Self.tileRows, l = Int32(r % Self.tileRows)
        let tile = quants + t * blocksPerRow * Self.tileRows * Self.blockSize
        return try withUnsafeTemporaryAllocation(of: Int8.self, capacity: Self.blockSize) { block in
            for j in 0..<Self.blockSize { block[j] = Int8(Int(tile[tessera_q8_tile_offset(b, l, Int32(j))]) - 128) }
            return try body(scaleBits[r * blocksPerRow + b], UnsafeBufferPointer(block))
        }
    }

    /// Rows of x up to which `multiply` quantizes x and runs the int8 × int8
    /// product (decode steps, batched or not); more rows (prefill) take the
    /// float32 product on dequantized tiles.
    public static let int8ProductRows = 32

    /// y [n, rows] = x [n, cols] · Wᵀ, or y += it when `accumulate`.
    ///
    /// Up to `int8ProductRows` rows of x: x is quantized to Q8_0 blocks
    /// (`Q8Activations`) and each output is Σ_b d_w·d_x·Σ q_w·q_x with exact
    /// int32 block sums (CDNNL/q8_dot.h: AVX-512 VNNI where the build
    /// targets it), as llama.cpp's Q8_0 × Q8_0 dot product computes it, so
    /// the result carries x's quantization error as well as W's; tiles of 16
    /// outputs split across `Compute.threads`, each tile's weights read once
    /// for 4 rows of x. More rows: 64 rows of W at a time expanded to float32
    /// and multiplied by the float32 product (float32 activations).
    public func multiply(_ x: UnsafePointer<Float>, rows n: Int, into y: UnsafeMutablePointer<Float>,
                         accumulate: Bool, parallel: Bool = true) {
        guard n > 0 else { return }
        let bpr = blocksPerRow, tileBytes = bpr * Self.tileRows * Self.blockSize
        if n <= Self.int8ProductRows {
            let a = Q8Activations(quantizing: x, rows: n, cols: cols)
            let threads = parallel && rows * cols >= 1 << 16 ? Compute.threads : 1
            let q = quants, s = scales, rows = rows
            Compute.withThreads(threads) {
                Compute.parallelRanges(tiles) { range in
                    for t in range {
                        tessera_q8_tile(q + t * tileBytes, s + t * bpr * Self.tileRows, bpr, a.quants, bpr * Self.blockSize,
                                        a.scales, a.corrections, Int32(n), y + t * Self.tileRows, rows,
                                        Int32(min(Self.tileRows, rows - t * Self.tileRows)), accumulate ? 1 : 0)
                    }
                }
            }
            withExtendedLifetime(a) {}
            return
        }
        let group = 4, groups = (tiles + group - 1) / group  // 64 rows of W per float32 product
        Compute.withThreads(parallel ? Compute.threads : 1) {
            Compute.parallelRanges(groups) { range in
                let w = Tensor(uninitialized: [group * Self.tileRows, cols])
                for g in range {
                    let t0 = g * group, r0 = t0 * Self.tileRows, count = min(group * Self.tileRows, rows - r0)
                    for t in t0..<min(tiles, t0 + group) { dequantize(tile: t, into: w.data + (t - t0) * Self.tileRows * cols) }
                    BLAS.gemm(transA: false, transB: true, m: n, n: count, k: cols, a: x, lda: cols, b: w.data, ldb: cols,
                              beta: accumulate ? 1 : 0, c: y + r0, ldc: rows, parallel: false)
                }
            }
        }
    }
}
