import TesseraKernels

/// DeepSpeed-Ulysses attention over a context-parallel group of n ranks:
/// an all-to-all turns this rank's sequence shard of q, k, v (all of its H
/// heads, 2c positions per sample) into every position of H/n heads; the
/// ordinary attention core runs on whole sequences; a second all-to-all
/// turns the head outputs back into sequence shards. The backward of each
/// all-to-all is the reverse one: dY goes sequence → heads, dqkv heads →
/// sequence. Rank r takes heads r·H/n ..< (r+1)·H/n of its tensor-parallel
/// rank's heads, so H must divide by n (heads by tp · cp).
public enum UlyssesAttention {
    /// What the backward needs besides the layer's own cache: the
    /// head-sharded whole-sequence qkv [b·T, 3·dl/n], head outputs
    /// [b·T, dl/n] and log-sum-exp [b, H/n, T].
    public struct Saved {
        let qkv: Tensor, y: Tensor, lse: Tensor
        var tensors: [Tensor] { [qkv, y, lse] }
    }

    /// The attention core's shape on this rank's heads over whole sequences.
    static func coreShape(_ s: AttentionKernel.Shape, seqLen: Int, cp: ContextParallel) -> AttentionKernel.Shape {
        let heads = s.heads / cp.size
        return AttentionKernel.Shape(batch: s.batch, seq: seqLen, heads: heads, headDim: s.headDim,
                                     headOffset: s.headOffset + cp.rank * heads)
    }

    /// Sequence shards → head shards: local [b·P, parts·dl] (each part dl =
    /// H·hd wide) → whole sequences [b·T, parts·dl/n] of this rank's heads.
    static func toHeads(_ local: UnsafePointer<Float>, parts: Int, width dl: Int, batch: Int, seqLen: Int,
                        cp: ContextParallel) throws -> Tensor {
        let n = cp.size, P = seqLen / n, w = dl / n, rows = batch * P, piece = rows * parts * w
        let send = Tensor(uninitialized: [n, rows, parts * w]), recv = Tensor(uninitialized: [n, rows, parts * w])
        for q in 0..<n {
            for i in 0..<rows {
                for k in 0..<parts {
                    (send.data + q * piece + (i * parts + k) * w).update(from: local + i * parts * dl + k * dl + q * w,
                                                                          count: w)
                }
            }
        }
        try cp.group.allToAll(send.data, count: piece, into: recv.data)
        let full = Tensor(uninitialized: [batch * seqLen, parts * w])
        for q in 0..<n {
            let chunks = ContextParallel.chunks(rank: q, size: n, seqLen: seqLen)
            for b in 0..<batch {
                for p in 0..<P {
                    let global = chunks[p / (P / 2)].lowerBound + p % (P / 2)
                    (full.data + (b * seqLen + global) * parts * w).update(from: recv.data + q * piece + (b * P + p) * parts * w,
                                                                           count: parts * w)
                }
            }
        }
        return full
    }

    /// Head shards → sequence shards, the inverse of `toHeads`: whole
    /// sequences [b·T, parts·dl/n] of this rank's heads → local [b·P, parts·dl].
    static func toSequence(_ full: UnsafePointer<Float>, parts: Int, width dl: Int, batch: Int, seqLen: Int,
                           cp: ContextParallel, into local: UnsafeMutablePointer<Float>) throws {
        let n = cp.size, P = seqLen / n, w = dl / n, rows = batch * P, piece = rows * parts * w
        let send = Tensor(uninitialized: [n, rows, parts * w]), recv = Tensor(uninitialized: [n, rows, parts * w])
        for q in 0..<n {
            let chunks = ContextParallel.chunks(rank: q, size: n, seqLen: seqLen)
            for b in 0..<batch {
                for p in 0..<P {
                    let global = chunks[p / (P / 2)].lowerBound + p % (P / 2)
                    (send.data + q * piece + (b * P + p) * parts * w).update(from: full + (b * seqLen + global) * parts * w,
                                                                           count: parts * w)
                }
            }
        }
        try cp.group.allToAll(send.data, count: piece, into: recv.data)
        for q in 0..<n {
            for i in 0..<rows {
                for k in 0..<parts {
                    (local + i * parts * dl + k * dl + q * w).update(from: recv.data + q * piece + (i * parts + k) * w,
                                                                      count: w)
                }
            }
        }
    }

    /// y [b·P, dl] from this rank's qkv [b·P, 3·dl]; returns what backward needs.
    public static func forward(y: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>, shape s: AttentionKernel.Shape,
                               seqLen: Int, cp: ContextParallel, dropout: DropoutSite?, sampleOffset: Int,
                               precision: Precision) throws -> Saved {
        let core = coreShape(s, seqLen: seqLen, cp: cp)
        let full = try toHeads(qkv, parts: 3, width: s.width, batch: s.batch, seqLen: seqLen, cp: cp)
        let out = Tensor(uninitialized: [s.batch * seqLen, core.width])
        let lse = Tensor(uninitialized: [s.batch, core.heads, seqLen])
        AttentionKernel.forward(y: out.data, lse: lse.data, qkv: full.data, shape: core, dropout: dropout,
                                sampleOffset: sampleOffset, precision: precision)
        try toSequence(out.data, parts: 1, width: s.width, batch: s.batch, seqLen: seqLen, cp: cp, into: y)
        return Saved(qkv: full, y: out, lse: lse)
    }

    /// dqkv [b·P, 3·dl] from dy [b·P, dl] and the forward's saved tensors.
    public static func backward(dqkv: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, saved: Saved,
                                shape s: AttentionKernel.Shape, seqLen: Int, cp: ContextParallel,
                                dropout: DropoutSite?, sampleOffset: Int, precision: Precision) throws {
        let core = coreShape(s, seqLen: seqLen, cp: cp)
        let dyFull = try toHeads(dy, parts: 1, width: s.width, batch: s.batch, seqLen: seqLen, cp: cp)
        let dFull = Tensor(uninitialized: saved.qkv.shape)
        AttentionKernel.backward(dqkv: dFull.data, dy: dyFull.data, y: saved.y.data, lse: saved.lse.data,
                                 qkv: saved.qkv.data, shape: core, dropout: dropout, sampleOffset: sampleOffset,
                                 precision: precision)
        try toSequence(dFull.data, parts: 3, width: s.width, batch: s.batch, seqLen: seqLen, cp: cp, into: dqkv)
    }
}
