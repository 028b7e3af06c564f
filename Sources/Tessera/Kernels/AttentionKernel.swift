/// Causal multi-head attention core on a fused qkv activation.
///
/// For each sample b and head h: S = Q·Kᵀ/√hd (causal), P = softmax(S) row by
/// row, Y = dropout(P)·V. Q·Kᵀ and P·V are BLAS products straight out of the
/// strided qkv rows (no transposes copied). Queries go in blocks of
/// `blockSize` rows and each block only multiplies the keys it can see, so the
/// masked upper triangle is (mostly) never computed. Softmax subtracts the row
/// maximum before exponentiating, so no logit overflows; masked entries are
/// exactly zero.
///
/// Under bf16 every product's inputs (Q, K, V, P, dY, dS) are rounded to bf16
/// and kept in float32, so the products compute exactly what bf16 × bf16 →
/// float32 instructions would, up to the order of the sums, on every CPU.
/// These products are small (64-row blocks, ~5% of a step's FLOPs) and run
/// in sgemm; softmax and its statistics stay float32.
public enum AttentionKernel {
    static let blockSize = 64

    /// Shapes: qkv [b·t, 3·dl] with columns [Q | K | V], each dl = heads·hd
    /// (heads of this rank); y [b·t, dl]; probs [b, heads, t, t] (saved).
    public struct Shape: Sendable {
        public var batch: Int, seq: Int, heads: Int, headDim: Int
        /// Global index of this rank's first head (dropout coordinates).
        public var headOffset: Int
        public init(batch: Int, seq: Int, heads: Int, headDim: Int, headOffset: Int = 0) {
            self.batch = batch; self.seq = seq; self.heads = heads; self.headDim = headDim
            self.headOffset = headOffset
        }
        var width: Int { heads * headDim }
    }

    /// Applies probability dropout to row `i` of head `h` (global coordinates).
    @inline(__always)
    static func dropRow(_ row: UnsafeMutablePointer<Float>, count: Int, s: Shape, b: Int, h: Int, i: Int,
                        site: DropoutSite?, sampleOffset: Int) {
        guard let site, site.p > 0 else { return }
        site.applyRow(row, count: count, featureBase: (s.headOffset + h) * s.seq, position: i,
                      sample: sampleOffset + b)
    }

    /// Copies the [t, t] probabilities `p` of (b, h) into `pd` with the
    /// dropout mask applied (the forward's P·V and the backward's dV use it).
    static func droppedProbs(_ pd: UnsafeMutablePointer<Float>, _ p: UnsafePointer<Float>, s: Shape, b: Int, h: Int,
                             site: DropoutSite?, sampleOffset: Int) -> UnsafePointer<Float> {
        let T = s.seq
        pd.update(from: p, count: T * T)
        for i in 0..<T {
            dropRow(pd + i * T, count: i + 1, s: s, b: b, h: h, i: i, site: site, sampleOffset: sampleOffset)
        }
        return UnsafePointer(pd)
    }

    /// qkv as the products read it: itself, or a bf16-rounded copy under bf16.
    static func productInput(_ qkv: UnsafePointer<Float>, count: Int, _ precision: Precision) -> (UnsafePointer<Float>, Tensor?) {
        guard precision == .bf16 else { return (qkv, nil) }
        let rounded = Tensor(uninitialized: [count])
        BF16.round(qkv, into: rounded.data, count: count)
        return (UnsafePointer(rounded.data), rounded)
    }

    public static func forward(y: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
                               qkv unrounded: UnsafePointer<Float>, shape s: Shape,
                               dropout: DropoutSite?, sampleOffset: Int, precision: Precision = .fp32) {
        let T = s.seq, hd = s.headDim, dl = s.width, ld = 3 * dl
        let scale = 1 / Float(hd).squareRoot()
        let dropping = (dropout?.p ?? 0) > 0, copying = dropping || precision == .bf16
        let pairs = s.batch * s.heads
        let (qkv, rounded) = productInput(unrounded, count: s.batch * T * ld, precision)
        let scratch = Tensor([max(1, min(Compute.threads, pairs)), copying ? T * T : 1])
        Compute.parallelParts(pairs) { part, parts in
            let pd = scratch.data + part * (copying ? T * T : 1)
            for pair in (pairs * part / parts)..<(pairs * (part + 1) / parts) {
                let b = pair / s.heads, h = pair % s.heads
                let q = qkv + b * T * ld + h * hd, k = q + dl, v = q + 2 * dl
                let p = probs + pair * T * T
                var r0 = 0
                while r0 < T {
                    let r1 = min(T, r0 + blockSize)
                    BLAS.gemm(transA: false, transB: true, m: r1 - r0, n: r1, k: hd, alpha: scale,
                              a: q + r0 * ld, lda: ld, b: k, ldb: ld, c: p + r0 * T, ldc: T, parallel: false)
                    r0 = r1
                }
                for i in 0..<T {
                    let row = p + i * T
                    let mx = Vector.max(row, i + 1)
                    let sum = Vector.expShiftSum(row, i + 1, shift: mx)
                    Vector.scale(row, i + 1, by: 1 / sum)
                    (row + i + 1).update(repeating: 0, count: T - i - 1)
                }
                let src = copying ? productProbs(pd, p, s: s, b: b, h: h, site: dropout, sampleOffset: sampleOffset,
                                                 precision: precision)
                                  : UnsafePointer(p)
                let out = y + b * T * dl + h * hd
                r0 = 0
                while r0 < T {
                    let r1 = min(T, r0 + blockSize)
                    BLAS.gemm(transA: false, transB: false, m: r1 - r0, n: hd, k: r1,
                              a: src + r0 * T, lda: T, b: v, ldb: ld, c: out + r0 * dl, ldc: dl, parallel: false)
                    r0 = r1
                }
            }
        }
        withExtendedLifetime(rounded) {}
    }

    /// The probabilities of (b, h) as P·V and dV read them: copied into `pd`
    /// with the dropout mask applied, and rounded to bf16 under bf16.
    static func productProbs(_ pd: UnsafeMutablePointer<Float>, _ p: UnsafePointer<Float>, s: Shape, b: Int, h: Int,
                             site: DropoutSite?, sampleOffset: Int, precision: Precision) -> UnsafePointer<Float> {
        let dropped = droppedProbs(pd, p, s: s, b: b, h: h, site: site, sampleOffset: sampleOffset)
        if precision == .bf16 { BF16.round(dropped, into: pd, count: s.seq * s.seq) }
        return dropped
    }

    /// Writes dqkv [b·t, 3·dl] from dy [b·t, dl], the saved probs and qkv.
    /// dV = dropout(P)ᵀ·dY; dP = dropout′(dY·Vᵀ); dS = P ⊙ (dP − rowsum(P ⊙ dP));
    /// dQ = dS·K/√hd; dK = dSᵀ·Q/√hd.
    public static func backward(dqkv: UnsafeMutablePointer<Float>, dy unroundedDY: UnsafePointer<Float>,
                                probs: UnsafePointer<Float>, qkv unrounded: UnsafePointer<Float>, shape s: Shape,
                                dropout: DropoutSite?, sampleOffset: Int, precision: Precision = .fp32) {
        let T = s.seq, hd = s.headDim, dl = s.width, ld = 3 * dl
        let scale = 1 / Float(hd).squareRoot()
        let pairs = s.batch * s.heads, copying = (dropout?.p ?? 0) > 0 || precision == .bf16
        let (qkv, rounded) = productInput(unrounded, count: s.batch * T * ld, precision)
        let (dy, roundedDY) = productInput(unroundedDY, count: s.batch * T * dl, precision)
        let parts = max(1, min(Compute.threads, pairs))
        let scratch = Tensor([parts, 2 * T * T])
        Compute.parallelParts(pairs) { part, parts in
            let dp = scratch.data + part * 2 * T * T, pd = dp + T * T
            for pair in (pairs * part / parts)..<(pairs * (part + 1) / parts) {
                let b = pair / s.heads, h = pair % s.heads
                let q = qkv + b * T * ld + h * hd, k = q + dl, v = q + 2 * dl
                let dq = dqkv + b * T * ld + h * hd, dk = dq + dl, dv = dq + 2 * dl
                let dyb = dy + b * T * dl + h * hd
                let p = probs + pair * T * T
                let src = copying ? productProbs(pd, p, s: s, b: b, h: h, site: dropout, sampleOffset: sampleOffset,
                                                 precision: precision)
                                  : UnsafePointer(p)
                for i in 0..<T { (dk + i * ld).update(repeating: 0, count: hd); (dv + i * ld).update(repeating: 0, count: hd) }
                var r0 = 0
                while r0 < T {
                    let r1 = min(T, r0 + blockSize), rows = r1 - r0
                    // dV[0:r1] += Pdᵀ[0:r1, r0:r1] · dY[r0:r1]
                    BLAS.gemm(transA: true, transB: false, m: r1, n: hd, k: rows, a: src + r0 * T, lda: T,
                              b: dyb + r0 * dl, ldb: dl, beta: 1, c: dv, ldc: ld, parallel: false)
                    // dPd[r0:r1, 0:r1] = dY[r0:r1] · V[0:r1]ᵀ
                    BLAS.gemm(transA: false, transB: true, m: rows, n: r1, k: hd, a: dyb + r0 * dl, lda: dl,
                              b: v, ldb: ld, c: dp + r0 * T, ldc: T, parallel: false)
                    r0 = r1
                }
                for i in 0..<T {
                    let dpi = dp + i * T, pi = p + i * T
                    dropRow(dpi, count: i + 1, s: s, b: b, h: h, i: i, site: dropout, sampleOffset: sampleOffset)
                    let dot = Vector.dot(pi, dpi, i + 1)
                    var j = 0
                    while j + 16 <= i + 1 { store(load(pi + j) * (load(dpi + j) - dot), dpi + j); j += 16 }
                    while j <= i { dpi[j] = pi[j] * (dpi[j] - dot); j += 1 }
                    (dpi + i + 1).update(repeating: 0, count: T - i - 1)
                }
                if precision == .bf16 { BF16.round(dp, into: dp, count: T * T) }  // dS enters two products
                r0 = 0
                while r0 < T {
                    let r1 = min(T, r0 + blockSize), rows = r1 - r0
                    // dQ[r0:r1] = dS[r0:r1, 0:r1] · K[0:r1] · scale
                    BLAS.gemm(transA: false, transB: false, m: rows, n: hd, k: r1, alpha: scale,
                              a: dp + r0 * T, lda: T, b: k, ldb: ld, c: dq + r0 * ld, ldc: ld, parallel: false)
                    // dK[0:r1] += dS[r0:r1, 0:r1]ᵀ · Q[r0:r1] · scale
                    BLAS.gemm(transA: true, transB: false, m: r1, n: hd, k: rows, alpha: scale,
                              a: dp + r0 * T, lda: T, b: q + r0 * ld, ldb: ld, beta: 1, c: dk, ldc: ld,
                              parallel: false)
                    r0 = r1
                }
            }
        }
        withExtendedLifetime((rounded, roundedDY)) {}
    }
}
