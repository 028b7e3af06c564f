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
/// - A paged cache (a segment over several blocks) gives the same numbers:
///   a decode row reads the blocks in place (`DecodeAttention.pagedRow`,
///   scores in key order, bitwise the contiguous row's); a prefill segment
///   first gathers the head's keys and values into one contiguous run in its
///   scratch, then runs the same tile kernel on it.
///
/// Per-thread scratch comes from the tensor pool once per call (per step),
/// never per token or per head.
enum CachedAttention {
    /// y [rows, width] ← attention of qkv's Q columns (qkv [rows, 3·width])
    /// over `cache` for every segment of `batch`, `heads` heads of `headDim`.
    ///
    /// Grouped-query attention (Llama): `queryStride` is the row stride of the
    /// queries at `qkv` (q alone, [rows, heads·hd]) and query head h reads
    /// the cache's head `kvHead(h)`; by default the fused GPT-2 rows and head h.
    static func forward(y: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>, cache: KVCache,
                        batch: DecodeBatch, heads: Int, headDim hd: Int, queryStride: Int? = nil,
                        kvHead: (Int) -> Int = { $0 }) {
        let width = heads * hd, ld = queryStride ?? 3 * width
        let head = BlockwiseAttention.Head(scale: 1 / Float(hd).squareRoot(), causal: true, dropout: nil,
                                           featureBase: 0, sample: 0, precision: .fp32)
        let segments = batch.segments, pairs = segments.count * heads
        // Per part: the tile scratch and m, l, lse of a prefill segment's rows, or a decode row's scores.
        let rows = segments.map { $0.count > 1 ? 3 * $0.count : $0.length }.max() ?? 0
        // A prefill segment over several blocks gathers its K and V [length, hd] each here first.
        let gathered = segments.filter { $0.count > 1 && $0.blocks.count > 1 }.map { 2 * $0.length * hd }.max() ?? 0
        let perPart = BlockwiseAttention.forwardScratch + rows + gathered
        let parts = Compute.parts(for: pairs)
        let scratch = Tensor(uninitialized: [parts, perPart])
        Compute.parallelParts(pairs, parts: parts) { part, parts in
            let s = scratch.data + part * perPart
            for pair in (pairs * part / parts)..<(pairs * (part + 1) / parts) {
                let seg = segments[pair / heads], qh = pair % heads, h = kvHead(qh)
                let q = qkv + seg.row * ld + qh * hd, o = y + seg.row * width + qh * hd
                if seg.count == 1 && seg.blocks.count > 1 {
                    DecodeAttention.pagedRow(q: q, table: seg.blocks, blockSize: cache.blockSize,
                                             keys: { UnsafePointer(cache.keys(block: $0, head: h)) },
                                             values: { UnsafePointer(cache.values(block: $0, head: h)) },
                                             count: seg.length, headDim: hd, scale: head.scale, scores: s, y: o)
                    continue
                }
                var k = UnsafePointer(cache.keys(block: seg.blocks[0], head: h))
                var v = UnsafePointer(cache.values(block: seg.blocks[0], head: h))
                if seg.blocks.count > 1 {
                    let gk = s + BlockwiseAttention.forwardScratch + rows, gv = gk + seg.length * hd
                    cache.gather(table: seg.blocks, head: h, count: seg.length, keys: gk, values: gv)
                    k = UnsafePointer(gk); v = UnsafePointer(gv)
                }
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
