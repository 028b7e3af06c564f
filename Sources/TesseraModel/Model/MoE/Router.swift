import TesseraKernels

/// The router of a mixture-of-experts block: logits = x·W_rᵀ with W_r [E, d]
/// and no bias, always in float32 (bf16 logits would flip top-k choices
/// between layouts), then `Routing` (softmax, top-k, renormalised gates) and
/// `ExpertCapacity`. Backward takes the gates' gradient and adds the
/// auxiliary losses' (`RouterLosses`).
public final class Router: @unchecked Sendable {
    /// W_r [E, d].
    public let weight: Parameter
    let experts: Int, topK: Int

    public init(name: String, dModel: Int, experts: Int, topK: Int, placement: Placement) {
        weight = Parameter(name: name + ".weight", shape: [experts, dModel], rule: .normal(0.02), placement: placement)
        self.experts = experts
        self.topK = topK
    }

    /// x [rows, d] (`samples` × `positions` rows) → logits [rows, E] and the
    /// routing, with capacity `factor` applied per whole sample (0: dropless).
    /// Under context parallelism (`cp`, this rank holding `positions` =
    /// seqLen / cp rows of each sample: its two chunks) the logits are
    /// all-gathered over the cp group and put in sequence order, so every cp
    /// rank routes, drops and counts fᵢ over the whole sample exactly as one
    /// rank does, then keeps its own rows (collective over `cp`).
    public func forward(_ x: Tensor, samples: Int, positions: Int, cp: ContextParallel? = nil,
                        capacityFactor factor: Float) throws -> Routing {
        let rows = x.count / weight.shape[1], d = weight.shape[1], E = experts
        let logits = Tensor(uninitialized: [rows, E])
        BLAS.gemm(transA: false, transB: true, m: rows, n: E, k: d, a: x.data, lda: d, b: weight.value.data,
                  ldb: d, c: logits.data, ldc: E)
        guard let cp, cp.size > 1 else {
            var routing = Routing(logits: logits.data, rows: rows, experts: E, topK: topK)
            ExpertCapacity.apply(&routing, samples: samples, positions: positions, factor: factor)
            routing.seqLen = positions
            routing.loadFractions = RouterLosses.fractions(routing, samples: samples, positions: positions)
            return routing
        }
        let T = positions * cp.size
        let gathered = Tensor(uninitialized: [cp.size * rows, E])
        try cp.group.startAllGather(logits.data, count: logits.count, into: gathered.data).wait()
        // Rank q's local row (s, h·c + i) is global row s·T + chunks(q)[h].lowerBound + i.
        let whole = Tensor(uninitialized: [samples * T, E])
        var mine: [Int] = []
        for q in 0..<cp.size {
            for s in 0..<samples {
                var local = q * rows + s * positions
                for chunk in ContextParallel.chunks(rank: q, size: cp.size, seqLen: T) {
                    (whole.data + (s * T + chunk.lowerBound) * E).update(from: gathered.data + local * E,
                                                                         count: chunk.count * E)
                    if q == cp.rank { mine += chunk.map { s * T + $0 } }
                    local += chunk.count
                }
            }
        }
        var routing = Routing(logits: whole.data, rows: samples * T, experts: E, topK: topK)
        ExpertCapacity.apply(&routing, samples: samples, positions: T, factor: factor)
        routing.seqLen = T
        routing.loadFractions = RouterLosses.fractions(routing, samples: samples, positions: T)
        return routing.selecting(mine)
    }

    /// The logits' gradient [rows, E] from the gates' gradient `dgate`
    /// [rows · K] (zero for dropped choices) and, scaled by `lossScale`, the
    /// load-balancing (α) and z (β) losses.
    ///
    /// Gates g_k = p_{e_k} / S, S = Σ_k p_{e_k}: ∂/∂p_{e_j} = (dg_j − Σ_k dg_k·g_k) / S;
    /// softmax: dz_i = p_i·(dp_i − Σ_j p_j·dp_j).
    public func logitsGradient(_ r: Routing, dgate: [Float], samples: Int, positions: Int, lossScale: Float,
                               aux: Float, z: Float) -> Tensor {
        let E = experts, K = topK
        var dprobs = [Float](repeating: 0, count: r.rows * E)
        for t in 0..<r.rows {
            var S: Float = 0, inner: Float = 0
            for k in 0..<K {
                S += r.probs[t * E + Int(r.choice[t * K + k])]
                inner += dgate[t * K + k] * r.gate[t * K + k]
            }
            for k in 0..<K { dprobs[t * E + Int(r.choice[t * K + k])] += (dgate[t * K + k] - inner) / S }
        }
        if aux > 0 {
            RouterLosses.addLoadBalancingGradient(&dprobs, r, samples: samples, positions: positions, coefficient: aux,
                                                  scale: lossScale)
        }
        let dlogits = Tensor(uninitialized: [r.rows, E])
        for t in 0..<r.rows {
            var dot: Float = 0
            for i in 0..<E { dot += r.probs[t * E + i] * dprobs[t * E + i] }
            for i in 0..<E { dlogits.data[t * E + i] = r.probs[t * E + i] * (dprobs[t * E + i] - dot) }
        }
        if z > 0 { RouterLosses.addZLossGradient(dlogits.data, r, coefficient: z, scale: lossScale) }
        return dlogits
    }

    /// dlogits [rows, E], x [rows, d] → dx [rows, d] = dlogits·W_r; dW_r += dlogitsᵀ·x (now, or deferred).
    public func backward(_ dlogits: Tensor, input x: Tensor, _ backward: BackwardContext) -> Tensor {
        let d = weight.shape[1], rows = x.count / d, E = experts, w = weight
        backward.weightGradient {
            BLAS.gemm(transA: true, transB: false, m: E, n: d, k: rows, a: dlogits.data, lda: E, b: x.data, ldb: d,
                      beta: 1, c: w.grad.data, ldc: d)
        }
        let dx = Tensor(uninitialized: [rows, d])
        BLAS.gemm(transA: false, transB: false, m: rows, n: d, k: E, a: dlogits.data, lda: E, b: w.value.data, ldb: d,
                  c: dx.data, ldc: d)
        return dx
    }
}
