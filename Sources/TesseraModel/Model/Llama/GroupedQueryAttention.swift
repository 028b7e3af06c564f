import TesseraSupport
import TesseraKernels
import TesseraTopology

/// Llama's causal self-attention with grouped-query heads and rotary
/// positions, no biases: q = x·W_qᵀ, k = x·W_kᵀ, v = x·W_vᵀ (Hugging Face's
/// q_proj, k_proj, v_proj), q and k rotated at each row's global position
/// (`RotaryKernel`), softmax(QKᵀ/√hd)·V per query head with query head i
/// reading kv head ⌊i / (heads/kv-heads)⌋, out = y·W_oᵀ (o_proj).
///
/// Under tensor parallelism q and o split by query heads (column- and
/// row-parallel, as GPT-2's attention). K and V split by kv heads when tp
/// divides kv-heads; when tp exceeds kv-heads each rank holds the one kv
/// head its query heads read, replicated on tp/kv-heads consecutive ranks
/// (Megatron's rule). Those ranks each hold part of the head's gradient: the
/// backward sums dK and dV over them (one all-reduce over tp of a buffer
/// holding every kv head's slot) before the K/V products, so every replica
/// adds the whole dW_k, dW_v, and only the first replica adds the K/V share
/// of the input gradient.
///
/// The attention core is GPT-2's (`AttentionKernel`, ring or Ulysses under
/// context parallelism): its fused [Q | K | V] rows hold each query head's
/// kv head repeated, so every layout's core runs unchanged.
public final class GroupedQueryAttention: Layer, @unchecked Sendable {
    public let q: Linear, k: Linear, v: Linear
    /// Output projection, weight [d, heads·hd/tp].
    public let o: RowParallelLinear
    /// Query heads computed here and the global index of the first; kv heads held here and the first's index.
    public let heads: Int, headOffset: Int, kvHeads: Int, kvOffset: Int
    /// Query heads per kv head in the whole model.
    public let group: Int
    public let headDim: Int
    /// Whether this rank's kv heads are replicas (tp > kv-heads), and whether it is the first of its replicas.
    public let replicatedKV: Bool, primaryKV: Bool
    let allKVHeads: Int
    let inverseFrequencies: [Float]
    let name: String
    let tp: TensorParallel

    /// Saved activations: the input (outer rows), the fused rotated
    /// [Q | K | V] of this rank's query heads [rows, 3·heads·hd], the head
    /// outputs and log-sum-exps (dropped under selective recomputation), or Ulysses' own.
    public struct Cache: LayerCache {
        let x: Tensor, qkv: Tensor?, y: Tensor?, lse: Tensor?
        let ulysses: UlyssesAttention.Saved?
        public var tensors: [Tensor] { [x] + [qkv, y, lse].compactMap { $0 } + (ulysses?.tensors ?? []) }
    }

    /// Whether backward recomputes the core (`Recompute.selective`), as `CausalSelfAttention.recomputeCore`.
    public var recomputeCore = false

    /// Block `name`'s attention of `config`'s shape; this rank's heads under `tp`.
    public init(name: String, config c: GPTConfig, tp: TensorParallel) {
        self.name = name
        self.tp = tp
        let d = c.dModel, hd = c.headDim, kvAll = c.kvHeadCount
        headDim = hd
        allKVHeads = kvAll
        group = c.queriesPerKV
        heads = tp.part(c.heads).count
        headOffset = tp.part(c.heads).lowerBound
        replicatedKV = kvAll % tp.size != 0
        if replicatedKV {
            let replicas = tp.size / kvAll
            kvHeads = 1; kvOffset = tp.rank / replicas; primaryKV = tp.rank % replicas == 0
        } else {
            kvHeads = tp.part(kvAll).count; kvOffset = tp.part(kvAll).lowerBound; primaryKV = true
        }
        let std: Float = 0.02
        q = Linear(weight: .shard(name: name + ".q_proj.weight", global: [c.heads * hd, d],
                                  rowRanges: [headOffset * hd..<(headOffset + heads) * hd], cols: 0..<d,
                                  rule: .normal(std), placement: .sharded(dim: 0, over: tp)), bias: nil)
        let kvPlacement = replicatedKV ? Placement.replicatedShard(parts: kvAll, over: tp) : .sharded(dim: 0, over: tp)
        let kvRows = [kvOffset * hd..<(kvOffset + kvHeads) * hd]
        k = Linear(weight: .shard(name: name + ".k_proj.weight", global: [kvAll * hd, d], rowRanges: kvRows,
                                  cols: 0..<d, rule: .normal(std), placement: kvPlacement), bias: nil)
        v = Linear(weight: .shard(name: name + ".v_proj.weight", global: [kvAll * hd, d], rowRanges: kvRows,
                                  cols: 0..<d, rule: .normal(std), placement: kvPlacement), bias: nil)
        o = RowParallelLinear(name: name + ".o_proj", inFeatures: c.heads * hd, outFeatures: d, std: std, tp: tp,
                              bias: false)
        inverseFrequencies = RotaryKernel.inverseFrequencies(headDim: hd, base: c.ropeTheta)
    }

    public var parameters: [Parameter] { [q.weight, k.weight, v.weight, o.linear.weight] }
    public var linears: [Linear] { [q, k, v, o.linear] }
    public var workingWeights: [WorkingWeight] { linears.map(\.workingWeight) }

    func shape(_ ctx: ForwardContext) -> AttentionKernel.Shape {
        AttentionKernel.Shape(batch: ctx.samples, seq: ctx.positions, heads: heads, headDim: headDim,
                              headOffset: headOffset)
    }

    /// Global positions of `ctx`'s rows inside the tensor-parallel region (all of this rank's rows):
    /// under context parallelism its zigzag chunks' positions.
    func positions(_ ctx: ForwardContext) -> [Int] { (0..<ctx.rows).map { ctx.coords.position($0) } }

    /// The rotation tables of rows at `positions`.
    func rotation(_ positions: [Int]) -> (cos: [Float], sin: [Float]) {
        RotaryKernel.tables(positions: positions, inverseFrequencies: inverseFrequencies)
    }

    /// Rotates q [rows, heads·hd] and k [rows, kv·hd] at positions `table` (the inverse for gradients).
    func rotate(q: Tensor, k: Tensor, _ table: (cos: [Float], sin: [Float]), inverse: Bool) {
        let rows = q.count / (heads * headDim)
        table.cos.withUnsafeBufferPointer { c in
            table.sin.withUnsafeBufferPointer { s in
                RotaryKernel.apply(q.data, rows: rows, stride: heads * headDim, column: 0, heads: heads,
                                   headDim: headDim, cos: c.baseAddress!, sin: s.baseAddress!, inverse: inverse)
                RotaryKernel.apply(k.data, rows: rows, stride: kvHeads * headDim, column: 0, heads: kvHeads,
                                   headDim: headDim, cos: c.baseAddress!, sin: s.baseAddress!, inverse: inverse)
            }
        }
    }

    /// The local kv head that local query head `h` reads.
    public func kvHead(of h: Int) -> Int { (headOffset + h) / group - kvOffset }

    /// Rotated q [rows, heads·hd], k, v [rows, kv·hd] of `x` [outer rows, d]: the projections this layer
    /// makes before its core (`InferenceStage` reads them for the KV cache).
    public func projections(_ x: Tensor, positions: [Int]) throws -> (q: Tensor, k: Tensor, v: Tensor) {
        let full = try tp.gather(x)
        let qo = q.forward(full), ko = k.forward(full), vo = v.forward(full)
        rotate(q: qo, k: ko, rotation(positions), inverse: false)
        return (qo, ko, vo)
    }

    /// Fused [Q | K | V] rows [rows, 3·heads·hd] with each query head's kv head repeated beside it.
    func fused(q qo: Tensor, k ko: Tensor, v vo: Tensor) -> Tensor {
        let w = heads * headDim, kw = kvHeads * headDim, hd = headDim, rows = qo.count / w
        let qkv = Tensor(uninitialized: [rows, 3 * w])
        Compute.parallelRanges(rows) { range in
            for r in range {
                let dst = qkv.data + r * 3 * w
                dst.update(from: qo.data + r * w, count: w)
                for h in 0..<self.heads {
                    let j = self.kvHead(of: h)
                    (dst + w + h * hd).update(from: ko.data + r * kw + j * hd, count: hd)
                    (dst + 2 * w + h * hd).update(from: vo.data + r * kw + j * hd, count: hd)
                }
            }
        }
        return qkv
    }

    /// x [outer rows, d] → out [outer rows, d].
    public func forward(_ x: Tensor, _ ctx: ForwardContext) throws -> (Tensor, Cache) {
        let span = Trace.begin(.attentionForward, name); defer { span.end() }
        let (qo, ko, vo) = try projections(x, positions: positions(ctx))
        let qkv = fused(q: qo, k: ko, v: vo)
        let y = Tensor(uninitialized: [ctx.rows, heads * headDim])
        let site = ctx.site(name + ".probs"), offset = ctx.coords.sampleOffset
        if let cp = ctx.contextParallel, cp.mode == .ulysses {
            let saved = try UlyssesAttention.forward(y: y.data, qkv: qkv.data, shape: shape(ctx), seqLen: ctx.seqLen,
                                                     cp: cp, dropout: site, sampleOffset: offset, precision: precision)
            return (try o.forward(y), Cache(x: x, qkv: nil, y: y, lse: nil, ulysses: saved))
        }
        let lse = Tensor(uninitialized: [ctx.samples, heads, ctx.positions])
        try core(y: y, lse: lse, qkv: qkv, ctx)
        let keep = !recomputeCore
        return (try o.forward(y), Cache(x: x, qkv: qkv, y: keep ? y : nil, lse: keep ? lse : nil, ulysses: nil))
    }

    /// The attention core on fused rows: ring attention over cp, else the one-rank kernel.
    func core(y: Tensor, lse: Tensor, qkv: Tensor, _ ctx: ForwardContext) throws {
        let site = ctx.site(name + ".probs"), offset = ctx.coords.sampleOffset
        if let cp = ctx.contextParallel {
            try RingAttention.forward(y: y.data, lse: lse.data, qkv: qkv.data, shape: shape(ctx), seqLen: ctx.seqLen,
                                      cp: cp, dropout: site, sampleOffset: offset, precision: precision)
        } else {
            AttentionKernel.forward(y: y.data, lse: lse.data, qkv: qkv.data, shape: shape(ctx), dropout: site,
                                    sampleOffset: offset, precision: precision)
        }
    }

    /// dout [outer rows, d] → dx [outer rows, d]; accumulates the four weight gradients.
    public func backward(_ dout: Tensor, _ cache: Cache, _ ctx: ForwardContext,
                         _ backward: BackwardContext = BackwardContext()) throws -> Tensor {
        let span = Trace.begin(.attentionBackward, name); defer { span.end() }
        var y = cache.y, lse = cache.lse
        if y == nil {  // selective recomputation: the core again, same masks
            y = Tensor(uninitialized: [ctx.rows, heads * headDim])
            lse = Tensor(uninitialized: [ctx.samples, heads, ctx.positions])
            try core(y: y!, lse: lse!, qkv: cache.qkv!, ctx)
        }
        let dy = try o.backward(dout, input: y!, backward)
        let w = heads * headDim
        let dqkv = Tensor(uninitialized: [ctx.rows, 3 * w])
        let site = ctx.site(name + ".probs"), offset = ctx.coords.sampleOffset
        if let cp = ctx.contextParallel, let saved = cache.ulysses {
            try UlyssesAttention.backward(dqkv: dqkv.data, dy: dy.data, saved: saved, shape: shape(ctx),
                                          seqLen: ctx.seqLen, cp: cp, dropout: site, sampleOffset: offset,
                                          precision: precision)
        } else if let cp = ctx.contextParallel {
            try RingAttention.backward(dqkv: dqkv.data, dy: dy.data, y: y!.data, lse: lse!.data,
                                       qkv: cache.qkv!.data, shape: shape(ctx), seqLen: ctx.seqLen, cp: cp,
                                       dropout: site, sampleOffset: offset, precision: precision)
        } else {
            AttentionKernel.backward(dqkv: dqkv.data, dy: dy.data, y: y!.data, lse: lse!.data,
                                     qkv: cache.qkv!.data, shape: shape(ctx), dropout: site, sampleOffset: offset,
                                     precision: precision)
        }
        let (dq, dk, dv) = try split(dqkv, rows: ctx.rows)
        rotate(q: dq, k: dk, rotation(positions(ctx)), inverse: true)
        let full = try tp.gather(cache.x)
        let (q, k, v) = (self.q, self.k, self.v)
        backward.weightGradient {
            q.backwardWeight(dq, input: full)
            k.backwardWeight(dk, input: full)
            v.backwardWeight(dv, input: full)
        }
        let dx = q.backwardInput(dq)
        if primaryKV {
            for part in [k.backwardInput(dk), v.backwardInput(dv)] {
                withExtendedLifetime(part) { Elementwise.accumulate(dx.data, part.data, n: dx.count) }
            }
        }
        return try tp.reduce(dx)
    }

    /// dQ [rows, heads·hd] and dK, dV [rows, kv·hd] from the fused gradient: each kv head's gradient summed
    /// over the query heads that read it here, then (replicated kv heads) over the ranks holding it.
    func split(_ dqkv: Tensor, rows: Int) throws -> (Tensor, Tensor, Tensor) {
        let w = heads * headDim, hd = headDim
        let slots = replicatedKV ? allKVHeads : kvHeads, first = replicatedKV ? kvOffset : 0
        let dq = Tensor(uninitialized: [rows, w])
        let dkv = Tensor([2, rows, slots * hd])  // zeros: kv heads of other ranks stay zero before the sum
        let dk = dkv.data, dv = dkv.data + rows * slots * hd
        Compute.parallelRanges(rows) { range in
            for r in range {
                let src = dqkv.data + r * 3 * w
                (dq.data + r * w).update(from: src, count: w)
                for h in 0..<self.heads {
                    let j = self.kvHead(of: h) + first
                    let ki = dk + (r * slots + j) * hd, vi = dv + (r * slots + j) * hd
                    for e in 0..<hd { ki[e] += src[w + h * hd + e]; vi[e] += src[2 * w + h * hd + e] }
                }
            }
        }
        guard replicatedKV else {
            let k = Tensor(uninitialized: [rows, slots * hd]), v = Tensor(uninitialized: [rows, slots * hd])
            k.data.update(from: dk, count: k.count); v.data.update(from: dv, count: v.count)
            return (dq, k, v)
        }
        try tp.group.allReduce(dkv.data, count: dkv.count, op: .sum)
        let k = Tensor(uninitialized: [rows, hd]), v = Tensor(uninitialized: [rows, hd])
        for r in 0..<rows {
            (k.data + r * hd).update(from: dk + (r * slots + first) * hd, count: hd)
            (v.data + r * hd).update(from: dv + (r * slots + first) * hd, count: hd)
        }
        return (dq, k, v)
    }
}
