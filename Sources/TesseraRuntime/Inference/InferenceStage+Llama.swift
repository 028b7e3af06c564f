import TesseraKernels
import TesseraModel

/// Llama's blocks over the KV cache: grouped-query attention caches only
/// this rank's kv heads (kv-heads/tp, or the one replicated kv head when tp
/// exceeds kv-heads), so a cached token costs 2 · kv heads · head dim · 4
/// bytes per block instead of GPT-2's 2 · d · 4; q and k rotate at each
/// row's position in its sequence (a decode row at its cached position).
extension InferenceStage {
    /// The heads a block's cache holds on this rank and their width: GPT-2's attention heads, Llama's kv heads.
    static func cachedHeads(_ block: any TransformerBlock) -> (heads: Int, headDim: Int) {
        if let b = block as? LlamaBlock { return (b.attention.kvHeads, b.attention.headDim) }
        let b = block as! Block
        return (b.attn.heads, b.attn.headDim)
    }

    /// `blocks(_:_:)` for Llama: x [rows, d] → [rows, d] (the last stage's
    /// last block: [sampling segments, d]), storing each block's rotated K and V.
    func llamaBlocks(_ x: Tensor, _ batch: DecodeBatch) throws -> Tensor {
        var h = x
        for (index, (block, cache)) in zip(model.blocks.map { $0 as! LlamaBlock }, caches).enumerated() {
            let attention = block.attention, kw = cache.width
            let (rotated, k, v) = try attention.projections(block.inputNorm.forward(h).0, positions: batch.positions)
            var q = rotated
            for s in batch.segments {
                cache.store(keys: k.data + s.row * kw, values: v.data + s.row * kw, ld: kw, rows: s.count,
                            table: s.blocks, start: s.start)
            }
            var step = batch
            if isLast && index == caches.count - 1 {
                step = batch.lastRowsOnly
                if step.isEmpty { return Tensor(uninitialized: [0, model.config.dModel]) }
                q = q.gatheringRows(batch.lastRows)
                h = h.gatheringRows(batch.lastRows)
            }
            let width = attention.heads * attention.headDim
            let y = Tensor(uninitialized: [step.rows, width])
            CachedAttention.forward(y: y.data, qkv: q.data, cache: cache, batch: step, heads: attention.heads,
                                    headDim: attention.headDim, queryStride: width, kvHead: attention.kvHead(of:))
            let o = try attention.o.forward(y)
            Elementwise.add(o.data, o.data, h.data, n: o.count)
            var ctx = ForwardContext(samples: 1, positions: step.rows, sampleOffset: 0, step: 0, seed: 0, dropout: 0)
            ctx.expertCapacity = false
            let f = try block.mlp.forward(block.postAttentionNorm.forward(o).0, ctx).0
            Elementwise.add(f.data, f.data, o.data, n: f.count)
            h = f
        }
        return h
    }
}
