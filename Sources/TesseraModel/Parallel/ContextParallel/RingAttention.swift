import TesseraKernels

/// Ring attention over a context-parallel group: each rank keeps its own
/// queries and passes K/V blocks around the ring, accumulating attention
/// block by block with `BlockwiseAttention`'s online softmax.
///
/// Forward, cp steps: at step s rank r holds the K/V of rank r − s (its own
/// at s = 0). It first sends that block on to rank r + 1 (an eager send: the
/// transfer goes on while it computes), then accumulates the block into its
/// queries' running max, sum and output, then receives the next block from
/// rank r − 1. cp − 1 exchanges in all. Tiles wholly above the causal
/// diagonal are skipped (with the load-balanced chunks every rank skips the
/// same amount).
///
/// Backward, cp steps: the K/V block travels as in the forward, and with it
/// an accumulator of that block's dK/dV. At step s rank r adds its queries'
/// contribution to the dK/dV of rank r − s's block and passes the pair on;
/// after the last step the accumulator it holds belongs to rank r + 1, so
/// one more send returns every dK/dV to its owner: cp − 1 K/V exchanges and
/// cp dK/dV exchanges. dQ stays local. The per-row log-sum-exp and
/// D = rowsum(dO ∘ O) are local to the query's rank.
public enum RingAttention {
    /// Tags of the two kinds of ring messages (within the cp group).
    static let kvTag = 0, gradientTag = 1

    /// The tile parameters of (sample b, local head h): dropout features keyed by the global sequence length.
    static func head(_ s: AttentionKernel.Shape, seqLen: Int, b: Int, h: Int, dropout: DropoutSite?, sampleOffset: Int,
                     precision: Precision) -> BlockwiseAttention.Head {
        BlockwiseAttention.Head(scale: 1 / Float(s.headDim).squareRoot(), causal: true, dropout: dropout,
                                featureBase: (s.headOffset + h) * seqLen, sample: sampleOffset + b,
                                precision: precision)
    }

    /// The rows of sample b, head h in a [b·P, ld] activation (column offset
    /// `column`), as one `Rows` per chunk of `chunks` (P = 2c local positions).
    static func rows(_ base: UnsafePointer<Float>, ld: Int, b: Int, positions P: Int, column: Int,
                     chunks: [Range<Int>]) -> [BlockwiseAttention.Rows] {
        let c = P / 2
        return chunks.enumerated().map { i, r in
            BlockwiseAttention.Rows(base + (b * P + i * c) * ld + column, ld: ld, start: r.lowerBound, count: r.count)
        }
    }

    /// K and V columns of (rounded) qkv [rows, 3·dl] as one block [rows, 2·dl] to travel the ring.
    static func keyValueBlock(_ qkv: UnsafePointer<Float>, rows: Int, width dl: Int) -> Tensor {
        let kv = Tensor(uninitialized: [rows, 2 * dl])
        for i in 0..<rows { (kv.data + i * 2 * dl).update(from: qkv + i * 3 * dl + dl, count: 2 * dl) }
        return kv
    }

    /// y [b·P, dl] and lse [b, heads, P] from this rank's qkv [b·P, 3·dl]
    /// (P = seqLen / cp local positions, `s.seq` = P).
    public static func forward(y: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>,
                               qkv unrounded: UnsafePointer<Float>, shape s: AttentionKernel.Shape, seqLen: Int,
                               cp: ContextParallel, dropout: DropoutSite?, sampleOffset: Int,
                               precision: Precision) throws {
        let P = s.seq, hd = s.headDim, dl = s.width, ld = 3 * dl, rowCount = s.batch * P, pairs = s.batch * s.heads
        let (qkv, rounded) = AttentionKernel.productInput(unrounded, count: rowCount * ld, precision)
        var kv = keyValueBlock(qkv, rows: rowCount, width: dl), incoming = Tensor(uninitialized: [rowCount, 2 * dl])
        let state = Tensor(uninitialized: [2, pairs, P]), m = state.data, l = state.data + pairs * P
        m.update(repeating: -.infinity, count: pairs * P)
        l.update(repeating: 0, count: pairs * P)
        for i in 0..<rowCount { (y + i * dl).update(repeating: 0, count: dl) }
        let next = (cp.rank + 1) % cp.size, previous = (cp.rank + cp.size - 1) % cp.size
        let scratch = Tensor(uninitialized: [Compute.parts(for: pairs), BlockwiseAttention.forwardScratch])
        for step in 0..<cp.size {
            let owner = (cp.rank + cp.size - step) % cp.size, last = step == cp.size - 1
            if !last { try cp.group.send(kv.data, count: kv.count, to: next, tag: kvTag) }
            forEachChunkPair(s, seqLen: seqLen, cp: cp, owner: owner, qkv: qkv, kv: kv.data, dropout: dropout,
                             sampleOffset: sampleOffset, precision: precision, scratch: scratch) { pair, tiles, qi, q, _, k, tile in
                let first = pair * P + qi * (P / 2), b = pair / s.heads, h = pair % s.heads
                BlockwiseAttention.forwardTile(tiles, q: q, k: k, v: k.base + dl, headDim: hd,
                                               o: y + (b * P + qi * (P / 2)) * dl + h * hd, ldo: dl,
                                               m: m + first, l: l + first, scratch: tile)
            }
            if !last {
                try cp.group.recv(incoming.data, count: incoming.count, from: previous, tag: kvTag)
                swap(&kv, &incoming)
            }
        }
        for pair in 0..<pairs {
            let b = pair / s.heads, h = pair % s.heads
            BlockwiseAttention.finish(o: y + b * P * dl + h * hd, ldo: dl, headDim: hd, count: P, m: m + pair * P,
                                      l: l + pair * P, lse: lse + pair * P)
        }
        withExtendedLifetime(rounded) {}
    }

    /// dqkv [b·P, 3·dl] from dy [b·P, dl], the forward's y and lse, and qkv.
    public static func backward(dqkv: UnsafeMutablePointer<Float>, dy unroundedDY: UnsafePointer<Float>,
                                y: UnsafePointer<Float>, lse: UnsafePointer<Float>, qkv unrounded: UnsafePointer<Float>,
                                shape s: AttentionKernel.Shape, seqLen: Int, cp: ContextParallel,
                                dropout: DropoutSite?, sampleOffset: Int, precision: Precision) throws {
        let P = s.seq, hd = s.headDim, dl = s.width, ld = 3 * dl, rowCount = s.batch * P, pairs = s.batch * s.heads
        let (qkv, rounded) = AttentionKernel.productInput(unrounded, count: rowCount * ld, precision)
        let (dy, roundedDY) = AttentionKernel.productInput(unroundedDY, count: rowCount * dl, precision)
        var kv = keyValueBlock(qkv, rows: rowCount, width: dl), incoming = Tensor(uninitialized: [rowCount, 2 * dl])
        var dkv = Tensor([rowCount, 2 * dl]), incomingGradient = Tensor(uninitialized: [rowCount, 2 * dl])
        let dDot = Tensor(uninitialized: [pairs, P])
        for i in 0..<rowCount { (dqkv + i * ld).update(repeating: 0, count: ld) }
        for pair in 0..<pairs {
            let b = pair / s.heads, h = pair % s.heads, at = b * P * dl + h * hd
            BlockwiseAttention.rowDots(dO: unroundedDY + at, lddo: dl, o: y + at, ldo: dl, headDim: hd, count: P,
                                       into: dDot.data + pair * P)
        }
        let next = (cp.rank + 1) % cp.size, previous = (cp.rank + cp.size - 1) % cp.size
        let scratch = Tensor(uninitialized: [Compute.parts(for: pairs), BlockwiseAttention.backwardScratch])
        for step in 0..<cp.size {
            let owner = (cp.rank + cp.size - step) % cp.size, last = step == cp.size - 1
            if !last { try cp.group.send(kv.data, count: kv.count, to: next, tag: kvTag) }
            let gradient = dkv
            forEachChunkPair(s, seqLen: seqLen, cp: cp, owner: owner, qkv: qkv, kv: kv.data, dropout: dropout,
                             sampleOffset: sampleOffset, precision: precision, scratch: scratch) { pair, tiles, qi, q, ki, k, tile in
                let b = pair / s.heads, h = pair % s.heads
                let local = b * P + qi * (P / 2), first = pair * P + qi * (P / 2)
                let dk = gradient.data + (b * P + ki * (P / 2)) * 2 * dl + h * hd
                BlockwiseAttention.backwardTile(tiles, q: q, k: k, v: k.base + dl, headDim: hd,
                                                dO: dy + local * dl + h * hd, lddo: dl, lse: lse + first,
                                                dDot: dDot.data + first, dq: dqkv + local * ld + h * hd,
                                                lddq: ld, dk: dk, dv: dk + dl, lddkv: 2 * dl, scratch: tile)
            }
            // The accumulator moves on with its block; after the last step it goes home to rank r + 1.
            try cp.group.send(dkv.data, count: dkv.count, to: next, tag: gradientTag)
            try cp.group.recv(incomingGradient.data, count: incomingGradient.count, from: previous, tag: gradientTag)
            swap(&dkv, &incomingGradient)
            if !last {
                try cp.group.recv(incoming.data, count: incoming.count, from: previous, tag: kvTag)
                swap(&kv, &incoming)
            }
        }
        for i in 0..<rowCount { (dqkv + i * ld + dl).update(from: dkv.data + i * 2 * dl, count: 2 * dl) }
        withExtendedLifetime((rounded, roundedDY)) {}
    }

    /// Runs `body` in parallel over every (sample, head) pair of shape `s`
    /// and every (query chunk qi, key chunk ki) of this rank's queries in
    /// `qkv` [b·P, 3·dl] against the K/V block `kv` [b·P, 2·dl] of rank
    /// `owner`, with the pair's tile parameters and its thread's row of `scratch`.
    static func forEachChunkPair(_ s: AttentionKernel.Shape, seqLen: Int, cp: ContextParallel, owner: Int,
                                 qkv: UnsafePointer<Float>, kv: UnsafePointer<Float>, dropout: DropoutSite?,
                                 sampleOffset: Int, precision: Precision, scratch: Tensor,
                                 _ body: (_ pair: Int, _ head: BlockwiseAttention.Head, _ qi: Int,
                                          _ q: BlockwiseAttention.Rows, _ ki: Int, _ k: BlockwiseAttention.Rows,
                                          _ scratch: UnsafeMutablePointer<Float>) -> Void) {
        let P = s.seq, hd = s.headDim, dl = s.width, pairs = s.batch * s.heads, stride = scratch.count / scratch.shape[0]
        let mine = cp.chunks(seqLen: seqLen)
        let theirs = ContextParallel.chunks(rank: owner, size: cp.size, seqLen: seqLen)
        // The scratch has a row per part: split into exactly that many.
        Compute.parallelParts(pairs, parts: scratch.shape[0]) { part, parts in
            let tile = scratch.data + part * stride
            for pair in (pairs * part / parts)..<(pairs * (part + 1) / parts) {
                let b = pair / s.heads, h = pair % s.heads
                let tiles = head(s, seqLen: seqLen, b: b, h: h, dropout: dropout, sampleOffset: sampleOffset,
                                 precision: precision)
                let queries = rows(qkv, ld: 3 * dl, b: b, positions: P, column: h * hd, chunks: mine)
                let keys = rows(kv, ld: 2 * dl, b: b, positions: P, column: h * hd, chunks: theirs)
                for (qi, q) in queries.enumerated() {
                    for (ki, k) in keys.enumerated() { body(pair, tiles, qi, q, ki, k, tile) }
                }
            }
        }
    }
}
