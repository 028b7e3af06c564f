import TesseraKernels
import TesseraModel

/// One rank's part of a model for generation: a `GPT` (this rank's
/// tensor-parallel shard of this pipeline stage's blocks, with the
/// embeddings on the first stage and the final LayerNorm and tied head on
/// the last) and one `KVCache` per block it holds. It reuses the training
/// model's weights, linear layers (column/row-parallel under tp) and
/// kernels; only attention is replaced, by `CachedAttention` over the cache.
///
/// Communication per block and step under tensor parallelism: attention
/// proj's all-reduce and the MLP out's all-reduce (the row-parallel layers),
/// plus, on the first stage, the vocab-parallel embedding's all-reduce and,
/// on the last, one all-gather of the sampled rows' vocabulary shards.
public final class InferenceStage: @unchecked Sendable {
    public let model: GPT
    /// One cache per block of this stage.
    public let caches: [KVCache]

    /// Caches for `slots` sequences of up to `capacity` positions (≤ the model's context).
    public init(model: GPT, slots: Int, capacity: Int) {
        precondition(capacity <= model.config.seqLen, "cache capacity \(capacity) exceeds the context \(model.config.seqLen)")
        self.model = model
        caches = model.blocks.map { b -> KVCache in
            let (heads, hd) = Self.cachedHeads(b)
            return KVCache(slots: slots, capacity: capacity, heads: heads, headDim: hd)
        }
    }

    /// Paged caches: a pool of `blocks` blocks of `blockSize` positions per
    /// block of the model, handed to sequences by a `BlockPool` (the same
    /// block ids in every layer), each sequence up to the model's context.
    public init(model: GPT, blocks: Int, blockSize: Int) {
        self.model = model
        caches = model.blocks.map { b -> KVCache in
            let (heads, hd) = Self.cachedHeads(b)
            return KVCache(blocks: blocks, blockSize: blockSize, heads: heads, headDim: hd)
        }
        pagedCapacity = model.config.seqLen
    }

    /// Positions one sequence may reach in a paged cache (nil: contiguous, one slot's block).
    private var pagedCapacity: Int?

    public var tp: TensorParallel { model.tp }
    public var isFirst: Bool { model.isFirstStage }
    public var isLast: Bool { model.isLastStage }
    /// Positions one slot can hold.
    public var capacity: Int { pagedCapacity ?? caches.first?.capacity ?? model.config.seqLen }

    /// Bytes of every cache on this rank.
    public var cacheBytes: Int { caches.reduce(0) { $0 + $1.bytes } }
    /// Bytes one cached token costs on this rank: 2 · blocks · (heads/tp) · head dim · 4.
    public var cacheBytesPerToken: Int { caches.reduce(0) { $0 + $1.bytesPerToken } }

    /// First stage: the step's tokens → x [rows, d] = wte[token] + wpe[position]
    /// (the vocabulary-parallel lookup summed over tp before positions are added).
    public func embed(_ batch: DecodeBatch) throws -> Tensor {
        let d = model.config.dModel, wte = model.wte!.value
        let x = Tensor(uninitialized: [batch.rows, d])
        batch.tokens.withUnsafeBufferPointer { tok in
            EmbeddingKernel.lookup(x: x.data, tokens: tok.baseAddress!, wte: wte.data, rows: batch.rows, d: d,
                                   vocab: model.vocabRange)
        }
        let summed = try tp.reduce(x)
        guard let wpe = model.wpe?.value else { return summed }  // Llama: positions rotate q and k instead
        for (i, p) in batch.positions.enumerated() {
            Elementwise.accumulate(summed.data + i * d, wpe.data + p * d, n: d)
        }
        return summed
    }

    /// The stage's blocks on x [rows, d], storing each block's K and V of
    /// the step in its cache → [rows, d]. On the last stage, the last block
    /// goes on past its K and V only for the rows whose logits are sampled
    /// (each sampling segment's last row) → [sampling segments, d]: the other
    /// rows' attention output and MLP there would feed nothing.
    public func blocks(_ x: Tensor, _ batch: DecodeBatch) throws -> Tensor {
        if model.config.isLlama { return try llamaBlocks(x, batch) }
        var h = x
        for (index, (block, cache)) in zip(model.gpt2Blocks, caches).enumerated() {
            var qkv = try block.attn.qkv.forward(block.ln1.forward(h).0)
            for s in batch.segments {
                cache.store(qkv: qkv.data + s.row * 3 * cache.width, rows: s.count, table: s.blocks, start: s.start)
            }
            var step = batch
            if isLast && index == caches.count - 1 {
                step = batch.lastRowsOnly
                if step.isEmpty { return Tensor(uninitialized: [0, model.config.dModel]) }
                qkv = qkv.gatheringRows(batch.lastRows)
                h = h.gatheringRows(batch.lastRows)
            }
            let y = Tensor(uninitialized: [step.rows, cache.width])
            CachedAttention.forward(y: y.data, qkv: qkv.data, cache: cache, batch: step, heads: block.attn.heads,
                                    headDim: block.attn.headDim)
            let o = try block.attn.proj.forward(y)
            let normed = block.ln2.forward(o, addingResidual: h).0  // o becomes the residual stream
            var ctx = ForwardContext(samples: 1, positions: step.rows, sampleOffset: 0, step: 0, seed: 0, dropout: 0)
            ctx.expertCapacity = false  // generation routes every token (dropless)
            let f = try block.mlp.forward(normed, ctx).0
            Elementwise.add(f.data, f.data, o.data, n: f.count)
            h = f
        }
        return h
    }

    /// Last stage: logits [sampling segments, vocab] from `blocks`' output
    /// h [sampling segments, d] (each sampling segment's last row): final
    /// LayerNorm and tied head, this rank's vocabulary shard gathered from
    /// the tensor-parallel group, padding dropped.
    public func logits(_ h: Tensor) throws -> Tensor {
        let vocab = model.config.vocab, n = h.shape[0]
        let local = try model.head(model.finalNorm!.normalize(h).0).1
        let vLocal = model.vocabRange.count
        let shards = Tensor(uninitialized: [tp.size, n, vLocal])
        try tp.group.allGather(local.data, count: local.count, into: shards.data)
        let out = Tensor(uninitialized: [n, vocab])
        for r in 0..<tp.size {
            let columns = min(vLocal, vocab - r * vLocal)
            guard columns > 0 else { continue }
            for i in 0..<n {
                (out.data + i * vocab + r * vLocal).update(from: shards.data + (r * n + i) * vLocal, count: columns)
            }
        }
        return out
    }
}
