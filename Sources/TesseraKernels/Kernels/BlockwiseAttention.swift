import Foundation

/// Attention of one (sample, head) computed tile by tile with an online
/// softmax, FlashAttention's method: no [queries, keys] score or probability
/// matrix is ever stored, only a [64, 128] scratch tile.
///
/// Forward, for each query row i and each tile of keys j (global positions):
///
///     s_ij = q_i·k_j / √hd                     (causal: −∞ where key j > query i)
///     m_i' = max(m_i, max_j s_ij)              running row maximum
///     l_i' = l_i·e^(m_i − m_i') + Σ_j e^(s_ij − m_i')
///     o_i' = o_i·e^(m_i − m_i') + Σ_j drop_ij·e^(s_ij − m_i')·v_j
///
/// and at the end o_i /= l_i and lse_i = m_i + log l_i (saved for backward).
/// The row sum l counts every key (dropout acts on the normalised
/// probabilities, so drop_ij ∈ {0, 1/(1−p)} only scales o's terms). All
/// statistics are float32; subtracting the running maximum keeps every
/// exponent ≤ 0, so nothing overflows.
///
/// Backward recomputes each tile's probabilities p_ij = e^(s_ij − lse_i) and
/// uses D_i = Σ_j p_ij·dp_ij = dO_i·O_i (true with dropout too, since
/// O_i = Σ_j drop_ij·p_ij·v_j):
///
///     dV_j += Σ_i drop_ij·p_ij·dO_i        dp_ij = drop_ij·(dO_i·v_j)
///     ds_ij = p_ij·(dp_ij − D_i)           dQ_i += Σ_j ds_ij·k_j/√hd,  dK_j += Σ_i ds_ij·q_i/√hd
///
/// Queries and keys are addressed by global position, so the same tile
/// functions serve one rank (all keys at once) and context parallelism (key
/// blocks arriving around a ring, in any order). Dropout masks are keyed by
/// global (sample, head, query, key) as `AttentionKernel` always did, so every
/// layout draws the serial run's masks bit for bit. Under bf16 the tile's
/// (dropped) probabilities and ds are rounded to bf16 before entering their
/// products; the caller rounds q, k, v and dO.
public enum BlockwiseAttention {
    /// Query rows per tile.
    public static let queryTile = 64
    /// Keys per tile.
    public static let keyTile = 128
    /// Floats of scratch one `forwardTile` call needs.
    public static let forwardScratch = queryTile * keyTile
    /// Floats of scratch one `backwardTile` call needs.
    public static let backwardScratch = 2 * queryTile * keyTile

    /// What fixes one (sample, head)'s tiles apart from the operands: the
    /// score scale, the causal mask and the dropout coordinates.
    public struct Head: Sendable {
        /// 1/√head width.
        public var scale: Float
        /// Whether key positions after a query's are masked.
        public var causal: Bool
        /// The probability dropout site, or nil.
        public var dropout: DropoutSite?
        /// Dropout feature of key position 0: global head index × global sequence length.
        public var featureBase: Int
        /// Global sample index (dropout coordinate).
        public var sample: Int
        /// Whether the products' inputs are rounded to bf16.
        public var precision: Precision

        public init(scale: Float, causal: Bool, dropout: DropoutSite?, featureBase: Int, sample: Int,
                    precision: Precision) {
            self.scale = scale; self.causal = causal; self.dropout = dropout
            self.featureBase = featureBase; self.sample = sample; self.precision = precision
        }
    }

    /// Rows of one operand: row r is at `base + r·ld` and holds global position `start + r`.
    public struct Rows {
        public var base: UnsafePointer<Float>
        public var ld: Int
        public var start: Int
        public var count: Int
        public init(_ base: UnsafePointer<Float>, ld: Int, start: Int, count: Int) {
            self.base = base; self.ld = ld; self.start = start; self.count = count
        }
        func row(_ r: Int) -> UnsafePointer<Float> { base + r * ld }
    }

    /// Accumulates keys `k` and values `v` (rows of hd floats at the same
    /// positions) into the running state of queries `q`: o [q.count, hd] at
    /// stride ldo (unnormalised), m and l [q.count]. Start from o = 0,
    /// m = −∞, l = 0; finish with `finish`. scratch: `forwardScratch` floats.
    public static func forwardTile(_ head: Head, q: Rows, k: Rows, v: UnsafePointer<Float>, headDim hd: Int,
                                   o: UnsafeMutablePointer<Float>, ldo: Int, m: UnsafeMutablePointer<Float>,
                                   l: UnsafeMutablePointer<Float>, scratch s: UnsafeMutablePointer<Float>) {
        forEachTile(head, q: q, k: k) { tile in
            let (i0, rows, j0, cols) = (tile.i0, tile.rows, tile.j0, tile.cols)
            // s [rows, cols] = scale · Q[i0..] · K[j0..]ᵀ
            BLAS.gemm(transA: false, transB: true, m: rows, n: cols, k: hd, alpha: head.scale,
                      a: q.row(i0), lda: q.ld, b: k.row(j0), ldb: k.ld, c: s, ldc: cols, parallel: false)
            for r in 0..<rows {
                let row = s + r * cols, i = i0 + r, n = tile.visible(r)
                if n > 0 {
                    let mNew = Swift.max(m[i], Vector.max(row, n))
                    let rescale: Float = m[i] == -.infinity ? 0 : Foundation.exp(m[i] - mNew)
                    let sum = Vector.expShiftSum(row, n, shift: mNew)
                    l[i] = l[i] * rescale + sum
                    m[i] = mNew
                    if rescale != 1 { Vector.scale(o + i * ldo, hd, by: rescale) }
                }
                (row + n).update(repeating: 0, count: cols - n)
            }
            dropRows(head, s, tile)
            if head.precision == .bf16 { BF16.round(s, into: s, count: rows * cols) }
            // o[i0..] += p · V[j0..]
            BLAS.gemm(transA: false, transB: false, m: rows, n: hd, k: cols, a: s, lda: cols,
                      b: v + j0 * k.ld, ldb: k.ld, beta: 1, c: o + i0 * ldo, ldc: ldo, parallel: false)
        }
    }

    /// Ends a forward: o_i /= l_i and lse_i = m_i + log l_i, for `count` rows.
    /// A row that saw no key (impossible in causal self-attention, where a
    /// query sees itself) keeps o = 0 and gets lse = −∞.
    public static func finish(o: UnsafeMutablePointer<Float>, ldo: Int, headDim hd: Int, count: Int,
                              m: UnsafePointer<Float>, l: UnsafePointer<Float>, lse: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            guard l[i] > 0 else { lse[i] = -.infinity; continue }
            Vector.scale(o + i * ldo, hd, by: 1 / l[i])
            lse[i] = m[i] + Foundation.log(l[i])
        }
    }

    /// Accumulates the gradients of one (query rows, key rows) tile pair:
    /// dq [q.count, hd] (stride ldq), dk and dv [k.count, hd] (stride lddkv)
    /// all += . dO rows match q's (stride lddo); lse and dDot (D_i = dO_i·O_i)
    /// are per query row. scratch: `backwardScratch` floats.
    public static func backwardTile(_ head: Head, q: Rows, k: Rows, v: UnsafePointer<Float>, headDim hd: Int,
                                    dO: UnsafePointer<Float>, lddo: Int, lse: UnsafePointer<Float>,
                                    dDot: UnsafePointer<Float>, dq: UnsafeMutablePointer<Float>, lddq: Int,
                                    dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>, lddkv: Int,
                                    scratch: UnsafeMutablePointer<Float>) {
        let p = scratch, t = scratch + queryTile * keyTile
        let dropping = (head.dropout?.p ?? 0) > 0, rounding = head.precision == .bf16
        forEachTile(head, q: q, k: k) { tile in
            let (i0, rows, j0, cols) = (tile.i0, tile.rows, tile.j0, tile.cols)
            // p [rows, cols] = e^(scale · Q·Kᵀ − lse), zero where masked
            BLAS.gemm(transA: false, transB: true, m: rows, n: cols, k: hd, alpha: head.scale,
                      a: q.row(i0), lda: q.ld, b: k.row(j0), ldb: k.ld, c: p, ldc: cols, parallel: false)
            for r in 0..<rows {
                let row = p + r * cols, n = tile.visible(r)
                if n > 0 { _ = Vector.expShiftSum(row, n, shift: lse[i0 + r]) }
                (row + n).update(repeating: 0, count: cols - n)
            }
            // t = dropout(p), bf16-rounded: dV[j0..] += tᵀ · dO[i0..]
            let dropped: UnsafePointer<Float>
            if dropping || rounding {
                t.update(from: p, count: rows * cols)
                dropRows(head, t, tile)
                if rounding { BF16.round(t, into: t, count: rows * cols) }
                dropped = UnsafePointer(t)
            } else {
                dropped = UnsafePointer(p)
            }
            BLAS.gemm(transA: true, transB: false, m: cols, n: hd, k: rows, a: dropped, lda: cols,
                      b: dO + i0 * lddo, ldb: lddo, beta: 1, c: dv + j0 * lddkv, ldc: lddkv, parallel: false)
            // t = dO[i0..] · V[j0..]ᵀ, then dropout′ and ds = p ⊙ (t − D) into p
            BLAS.gemm(transA: false, transB: true, m: rows, n: cols, k: hd, a: dO + i0 * lddo, lda: lddo,
                      b: v + j0 * k.ld, ldb: k.ld, c: t, ldc: cols, parallel: false)
            dropRows(head, t, tile)
            for r in 0..<rows {
                let pr = p + r * cols, tr = t + r * cols, d = dDot[i0 + r], n = tile.visible(r)
                var j = 0
                while j + 16 <= n { store(load(pr + j) * (load(tr + j) - Float16x(repeating: d)), pr + j); j += 16 }
                while j < n { pr[j] = pr[j] * (tr[j] - d); j += 1 }
            }
            if rounding { BF16.round(p, into: p, count: rows * cols) }
            // dQ[i0..] += scale · ds · K[j0..];  dK[j0..] += scale · dsᵀ · Q[i0..]
            BLAS.gemm(transA: false, transB: false, m: rows, n: hd, k: cols, alpha: head.scale, a: p, lda: cols,
                      b: k.row(j0), ldb: k.ld, beta: 1, c: dq + i0 * lddq, ldc: lddq, parallel: false)
            BLAS.gemm(transA: true, transB: false, m: cols, n: hd, k: rows, alpha: head.scale, a: p, lda: cols,
                      b: q.row(i0), ldb: q.ld, beta: 1, c: dk + j0 * lddkv, ldc: lddkv, parallel: false)
        }
    }

    /// One [rows, cols] tile: query rows i0 ..< i0 + rows of `q` against keys j0 ..< j0 + cols of `k`.
    struct Tile {
        var i0: Int, rows: Int, j0: Int, cols: Int
        /// Global positions of the tile's first query and first key.
        var firstQuery: Int, keyStart: Int
        var causal: Bool
        /// Keys of the tile visible to the tile's query row r: a prefix (all of them when not causal).
        @inline(__always) func visible(_ r: Int) -> Int {
            causal ? Swift.max(0, Swift.min(cols, firstQuery + r - keyStart + 1)) : cols
        }
    }

    /// Runs `body` on every tile of (q, k) in query-major order, skipping key
    /// tiles wholly after the last query of their query tile (causal).
    @inline(__always)
    static func forEachTile(_ head: Head, q: Rows, k: Rows, _ body: (Tile) -> Void) {
        var i0 = 0
        while i0 < q.count {
            let rows = min(queryTile, q.count - i0), lastQuery = q.start + i0 + rows - 1
            var j0 = 0
            while j0 < k.count, !(head.causal && k.start + j0 > lastQuery) {
                let cols = min(keyTile, k.count - j0)
                body(Tile(i0: i0, rows: rows, j0: j0, cols: cols, firstQuery: q.start + i0, keyStart: k.start + j0,
                          causal: head.causal))
                j0 += cols
            }
            i0 += rows
        }
    }

    /// Applies the probability dropout mask to the visible prefix of each row of `tile`'s [rows, cols] values.
    static func dropRows(_ head: Head, _ values: UnsafeMutablePointer<Float>, _ tile: Tile) {
        guard let site = head.dropout, site.p > 0 else { return }
        for r in 0..<tile.rows {
            let n = tile.visible(r)
            if n > 0 {
                site.applyRow(values + r * tile.cols, count: n, featureBase: head.featureBase + tile.keyStart,
                              position: tile.firstQuery + r, sample: head.sample)
            }
        }
    }

    /// D_i = dO_i · O_i for `count` rows (backward's row correction).
    public static func rowDots(dO: UnsafePointer<Float>, lddo: Int, o: UnsafePointer<Float>, ldo: Int, headDim hd: Int,
                               count: Int, into d: UnsafeMutablePointer<Float>) {
        for i in 0..<count { d[i] = Vector.dot(dO + i * lddo, o + i * ldo, hd) }
    }
}
