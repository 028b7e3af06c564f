import TesseraSupport
import TesseraKernels
import TesseraTopology

/// A mixture-of-experts feed-forward layer (Switch Transformer, GShard,
/// Megatron's MoE): a float32 `Router` picks each token's top-k of E
/// `ExpertMLP`s, `ExpertCapacity` drops what overflows an expert, and the
/// output is Σ gate·expert(x) over the kept choices.
///
/// Rows: the layer works on every row of the micro-batch (`samples` ×
/// `positions`): under sequence parallelism it gathers the chunks first,
/// and every tensor-parallel rank routes and runs the experts the same way
/// (by default experts are replicated over tp), keeping its own chunk of the
/// output. Under expert tensor parallelism (`ExpertParallel.splitsOverTP`)
/// each tp rank holds its part of every one of those experts
/// (`ExpertMLP`): routing and the exchange are unchanged, the experts'
/// outputs (and in backward their input gradients) are partial sums,
/// summed by one all-reduce over tp for all the layer's experts.
/// Under context parallelism the router routes each whole sample the same
/// way on every cp rank (`Router.forward`) and each rank keeps its rows.
/// Under expert parallelism this rank holds E/ep experts; `TokenExchange`
/// sends each kept choice's row to the rank holding its expert and brings
/// the result back.
public final class MixtureOfExperts: FeedForward, @unchecked Sendable {
    public let router: Router
    /// The experts this rank holds, in global order.
    public let experts: [ExpertMLP]
    /// Global index of `experts[0]`.
    public let firstExpert: Int
    /// Global index of the block this layer belongs to.
    public let layer: Int
    /// What the routing did over the training micro-batches since the last reset.
    public let statistics: ExpertStatistics
    let config: GPTConfig, tp: TensorParallel, ep: ExpertParallel

    /// What forward saved for backward.
    struct Cache: LayerCache {
        /// Every row of the micro-batch [rows, d] (gathered under sp).
        let x: Tensor
        let routing: Routing, order: ExpertOrder, exchange: TokenExchange
        /// Each local expert's cache (nil for an expert that received no rows).
        let experts: [ExpertMLP.Cache?]
        /// The expert outputs back on this rank, in expert order [M, d].
        let outputs: Tensor
        var tensors: [Tensor] {
            [x, outputs] + experts.flatMap { $0?.tensors ?? [] }
        }
    }

    /// Block `layer`'s mixture of experts: router "h.layer.mlp.router",
    /// experts "h.layer.mlp.experts.e"; this rank's experts under `ep`. For
    /// Llama, Mixtral's SwiGLU experts and names: router
    /// "layers.layer.block_sparse_moe.gate", experts "….block_sparse_moe.experts.e.w1/w2/w3".
    public init(layer: Int, config: GPTConfig, tp: TensorParallel, ep: ExpertParallel) {
        self.config = config; self.tp = tp; self.ep = ep; self.layer = layer
        let llama = config.isLlama
        let name = llama ? "layers.\(layer).block_sparse_moe" : "h.\(layer).mlp"
        router = Router(name: name + (llama ? ".gate" : ".router"), dModel: config.dModel, experts: config.experts, topK: config.topK,
                        placement: .wholeOnEveryRank(of: tp))
        let mine = ep.localExperts(config.experts)
        firstExpert = mine.lowerBound
        experts = mine.map { e in
            ExpertMLP(name: "\(name).experts.\(e)", dModel: config.dModel, hidden: config.expertWidth,
                      layers: config.layers, placement: .wholeOnEveryRank(of: tp, replicatedOver: .expertData),
                      tp: ep.splitsOverTP ? tp : nil, swiglu: llama)
        }
        statistics = ExpertStatistics(experts: config.experts)
    }

    /// Parameters in checkpoint order: the router's weight, then each expert's.
    public var parameters: [Parameter] { [router.weight] + experts.flatMap(\.parameters) }

    /// The experts' linear layers (the router stays float32).
    public var linears: [Linear] { experts.flatMap(\.linears) }

    /// x [outer rows, d] → y [outer rows, d].
    public func forward(_ x: Tensor, _ ctx: ForwardContext) throws -> (Tensor, any LayerCache) {
        let span = Trace.begin(.mlpForward); defer { span.end() }
        let full = try tp.gather(x)
        let routing = try router.forward(full, samples: ctx.samples, positions: ctx.positions, cp: ctx.contextParallel,
                                         capacityFactor: ctx.expertCapacity ? config.capacityFactor : 0)
        let order = ExpertOrder(routing)
        let exchange = try TokenExchange(counts: order.counts, ep: ep)
        let arrived = try exchange.dispatch(order.permute(full))
        var caches: [ExpertMLP.Cache?] = []
        let results = Tensor(uninitialized: arrived.shape)
        try eachExpert(exchange) { j, rows in
            guard !rows.isEmpty else { caches.append(nil); return }
            let (y, c) = experts[j].forward(arrived.gatheringRows(rows))
            (results.data + rows.lowerBound * y.shape[1]).update(from: y.data, count: y.count)
            caches.append(c)
        }
        if experts.first?.split == true {
            try sumOverTP(results)
            try eachExpert(exchange) { j, rows in
                experts[j].addOutBias(to: results.data + rows.lowerBound * results.shape[1], rows: rows.count)
            }
        }
        let outputs = try exchange.combine(results)
        let y = order.unpermute(outputs, rows: routing.rows, weight: routing.gate)
        return (ownChunk(y), Cache(x: full, routing: routing, order: order, exchange: exchange, experts: caches,
                                   outputs: outputs))
    }

    /// dy [outer rows, d] → dx [outer rows, d]; adds the router's and this rank's experts' gradients, and the
    /// auxiliary losses' gradients scaled by `ctx.lossScale`.
    public func backward(_ dy: Tensor, _ saved: any LayerCache, _ ctx: ForwardContext,
                         _ backward: BackwardContext) throws -> Tensor {
        let span = Trace.begin(.mlpBackward); defer { span.end() }
        let cache = saved as! Cache, r = cache.routing, d = config.dModel
        statistics.record(r, samples: ctx.samples, positions: ctx.positions, aux: config.auxLossCoeff, z: config.zLossCoeff)
        let dyFull = try tp.gather(dy)
        // Output y_r = Σ g_c·out_c: ∂out_c = g_c·dy_r, ∂g_c = dy_r·out_c.
        let dOutputs = Tensor(uninitialized: cache.outputs.shape)
        var dgate = [Float](repeating: 0, count: r.rows * r.topK)
        for (s, c) in cache.order.choices.enumerated() {
            let row = dyFull.data + c / r.topK * d, out = cache.outputs.data + s * d, g = r.gate[c]
            dgate[c] = Vector.dot(row, out, d)
            for i in 0..<d { dOutputs.data[s * d + i] = g * row[i] }
        }
        let arrived = try cache.exchange.dispatch(dOutputs)
        let dInputs = Tensor(uninitialized: arrived.shape)
        try eachExpert(cache.exchange) { j, rows in
            guard let c = cache.experts[j] else { return }
            let dx = experts[j].backward(arrived.gatheringRows(rows), c, backward)
            (dInputs.data + rows.lowerBound * d).update(from: dx.data, count: dx.count)
        }
        if experts.first?.split == true { try sumOverTP(dInputs) }
        let dx = cache.order.unpermute(try cache.exchange.combine(dInputs), rows: r.rows, weight: nil)
        let dlogits = router.logitsGradient(r, dgate: dgate, samples: ctx.samples, positions: ctx.positions,
                                            lossScale: ctx.lossScale ?? 0, aux: config.auxLossCoeff, z: config.zLossCoeff)
        let dxRouter = router.backward(dlogits, input: cache.x, backward)
        Elementwise.accumulate(dx.data, dxRouter.data, n: dx.count)
        return ownChunk(dx)
    }

    /// Calls `body(j, rows)` for each local expert j with its rows in the exchange's expert-major order.
    private func eachExpert(_ exchange: TokenExchange, _ body: (Int, Range<Int>) throws -> Void) rethrows {
        var at = 0
        for (j, n) in exchange.expertRows.enumerated() {
            try body(j, at..<(at + n))
            at += n
        }
    }

    /// Sums split experts' partial sums [rows, d] over the tensor-parallel group in place (every tp rank has
    /// the same rows, routed the same way).
    private func sumOverTP(_ partial: Tensor) throws {
        guard partial.count > 0 else { return }
        try tp.group.allReduce(partial.data, count: partial.count, op: .sum)
    }

    /// This rank's rows outside the tensor-parallel region: its chunk under sp, else every row.
    private func ownChunk(_ full: Tensor) -> Tensor {
        guard tp.sequenceParallel else { return full }
        let rows = full.shape[0] / tp.size
        return full.gatheringRows((tp.rank * rows)..<((tp.rank + 1) * rows))
    }
}
