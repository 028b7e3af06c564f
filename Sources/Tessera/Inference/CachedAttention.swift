import TesseraKernels

/// Causal attention of a step's new rows against the KV cache.
///
/// For each segment (slot, positions s ..< s + n) and each local head, the
/// n queries attend to cache rows 0 ..< s + n, query i (position s + i)
/// seeing keys 0 ... s + i: y_i = softmax(q_i·Kᵀ/√hd)·V over its visible keys.
/// The step's K and V must be stored before (`KVCache.store`).
///
/// - A prefill segment (n > 1: a prompt or a chunk of one) runs the training
///   kernel, `BlockwiseAttention.forwardTile`: [64, 128] tiles with an
///   online softmax, tiles wholly above the diagonal skipped, keys and
///   values read in place from the cache's contiguous [positions, hd] run of
///   the head (a chunk after the first sees the earlier chunks' keys there).
/// - A decode segment (n = 1) is one query row against the whole cache:
///   `DecodeAttention`'s vector loops over the cached rows, no matrix product.
///
/// Per-thread scratch comes from the tensor pool once per call (per step),
/// never per token or per head.
enum CachedAttention {
    /// y [rows, width] ← attention of qkv's Q columns (qkv [rows, 3·width])
    /// over `cache` for every segment of `batch`, `heads` heads of `headDim`.
    static func forward(y: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>, cache: KVCache,
                        batch: DecodeBatch, heads: Int, headDim hd: Int) {
        let width = cache.width, ld = 3 * width
        let head = BlockwiseAttention.Head(scale: 1 / Float(hd).squareRoot(), causal: true, dropout: nil,
                                           featureBase: 0, sample: 0, precision: .fp32)
        let segments = batch.segments, pairs = segments.count * heads
        // Per part: the tile scratch and m, l, lse of a prefill segment's rows, or a decode row's scores.
        let rows = segments.map { $0.count > 1 ? 3 * $0.count : $0.length }.max() ?? 0
        let perPart = BlockwiseAttention.forwardScratch + rows
        let scratch = Tensor(uninitialized: [max(1, min(Compute.threads, pairs)), perPart])
        Compute.parallelParts(pairs) { part, parts in
            let s = scratch.data + part * perPart
            for pair in (pairs * part / parts)..<(pairs * (part + 1) / parts) {
                let seg = segments[pair / heads], h = pair % heads
                let q = qkv + seg.row * ld + h * hd, o = y + seg.row * width + h * hd
                let k = UnsafePointer(cache.keys(slot: seg.slot, head: h))
                let v = UnsafePointer(cache.values(slot: seg.slot, head: h))
                if seg.count == 1 {
                    DecodeAttention.row(q: q, keys: k, values: v, ld: hd, count: seg.length, headDim: hd,
                                        scale: head.scale, scores: s, y: o)
                    continue
                }
                let n = seg.count, m = s + BlockwiseAttention.forwardScratch, l = m + n, lse = l + n
                for i in 0..<n { (o + i * width).update(repeating: 0, count: hd) }
                m.update(repeating: -.infinity, count: n)
                l.update(repeating: 0, count: n)
                BlockwiseAttention.forwardTile(head, q: .init(q, ld: ld, start: seg.start, count: n),
                                               k: .init(k, ld: hd, start: 0, count: seg.length), v: v, headDim: hd,
                                               o: o, ldo: width, m: m, l: l, scratch: s)
                BlockwiseAttention.finish(o: o, ldo: width, headDim: hd, count: n, m: m, l: l, lse: lse)
            }
        }
    }
}
