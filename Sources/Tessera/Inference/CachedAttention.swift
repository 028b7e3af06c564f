/// Causal attention of a step's new rows against the KV cache.
///
/// For each segment (slot, positions s ..< s + n) and each local head, the
/// n queries attend to cache rows 0 ..< s + n, query i (position s + i)
/// seeing keys 0 ... s + i: S = Q·Kᵀ/√hd, P = softmax(S) row by row (maximum
/// subtracted first, masked entries exactly zero), Y = P·V. A decode
/// segment is one query row against the whole cache; a prefill segment is
/// the training kernel's causal block with no keys before it. Queries go in
/// blocks of 64 rows that multiply only the keys they can see, as in
/// `AttentionKernel`. The step's K and V must be stored before (`KVCache.store`).
enum CachedAttention {
    static let blockSize = 64

    /// y [rows, width] ← attention of qkv's Q columns (qkv [rows, 3·width])
    /// over `cache` for every segment of `batch`, `heads` heads of `headDim`.
    static func forward(y: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>, cache: KVCache,
                        batch: DecodeBatch, heads: Int, headDim hd: Int) {
        let width = cache.width, ld = 3 * width
        let scale = 1 / Float(hd).squareRoot()
        let segments = batch.segments, pairs = segments.count * heads
        let longest = segments.map(\.length).max() ?? 0
        let scratch = Tensor(uninitialized: [max(1, min(Compute.threads, pairs)), blockSize * max(1, longest)])
        Compute.parallelParts(pairs) { part, parts in
            let scores = scratch.data + part * blockSize * max(1, longest)
            for pair in (pairs * part / parts)..<(pairs * (part + 1) / parts) {
                let seg = segments[pair / heads], h = pair % heads
                let k = UnsafePointer(cache.keys(slot: seg.slot)) + h * hd
                let v = UnsafePointer(cache.values(slot: seg.slot)) + h * hd
                var r0 = 0
                while r0 < seg.count {
                    let r1 = min(seg.count, r0 + blockSize), n = r1 - r0, keys = seg.start + r1
                    let q = qkv + (seg.row + r0) * ld + h * hd
                    BLAS.gemm(transA: false, transB: true, m: n, n: keys, k: hd, alpha: scale,
                              a: q, lda: ld, b: k, ldb: width, c: scores, ldc: keys, parallel: false)
                    for i in 0..<n {
                        let row = scores + i * keys, visible = seg.start + r0 + i + 1
                        let mx = Vector.max(row, visible)
                        let sum = Vector.expShiftSum(row, visible, shift: mx)
                        Vector.scale(row, visible, by: 1 / sum)
                        (row + visible).update(repeating: 0, count: keys - visible)
                    }
                    BLAS.gemm(transA: false, transB: false, m: n, n: hd, k: keys, a: scores, lda: keys,
                              b: v, ldb: width, c: y + (seg.row + r0) * width + h * hd, ldc: width, parallel: false)
                    r0 = r1
                }
            }
        }
    }
}
