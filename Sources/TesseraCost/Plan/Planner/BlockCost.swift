import TesseraTopology

/// Seconds one rank spends on one micro-batch of one block (or the output
/// head): forward, input-gradient backward (B) and weight-gradient backward
/// (W), each the sum of matrix products at the achievable rate for their
/// per-rank sizes, memory-bound elementwise work, and the communication the
/// strategy cannot hide. `communication` is the part of the three that is
/// communication (for the report's binding term).
public struct BlockCost: Sendable, Equatable {
    public var forward = 0.0, inputGradient = 0.0, weightGradient = 0.0
    public var communication = 0.0
    public init() {}

    /// Forward + both backward halves.
    public var total: Double { forward + inputGradient + weightGradient }

    static func + (a: BlockCost, b: BlockCost) -> BlockCost {
        var c = a
        c.forward += b.forward; c.inputGradient += b.inputGradient; c.weightGradient += b.weightGradient
        c.communication += b.communication
        return c
    }

    static func * (k: Double, a: BlockCost) -> BlockCost {
        var c = a
        c.forward *= k; c.inputGradient *= k; c.weightGradient *= k; c.communication *= k
        return c
    }
}

extension BlockCost {
    /// One block on one rank for a micro-batch of `b` sequences.
    ///
    /// Products (forward; each backward half repeats it with permuted sizes):
    /// QKV n×h·(h+2kv)/t, output n×(h/t)·h, feed-forward n×h·ffn/t (twice for
    /// SwiGLU's gate and up) and n×(ffn/t)·h, with n = b·s/cp tokens; in a
    /// mixture-of-experts block (`expert`) the router n×h·E and per local
    /// expert n·top-k·ep/E rows through an expert of width F (/t when experts
    /// split over tp); attention's QKᵀ and PV per head over
    /// the causal half of s × s (its backward is all input gradient).
    /// Elementwise: 14 activation-sized reads/writes per token of width h
    /// (norms, residuals, biases; 1/t under SP) and 3 of width ffn/t (experts:
    /// top-k·F, plus the permute and un-permute of top-k rows of width h), plus the
    /// softmax's float32 read, write and mask over the scores; backward twice that.
    /// Recompute repeats the attention core (selective) or the whole forward (full) in B.
    /// Communication: TP/SP two all-reduces (or all-gather + reduce-scatter) of n·h
    /// activations each way (one without SP when experts are whole on every tp
    /// rank: the expert block needs none); CP a ring of K,V blocks (backward: and their
    /// gradients, `RingAttentionCost`, with its copies and merges) overlapped with
    /// attention on devices, exposed where ranks share CPU cores (their copies
    /// run on the rank's own cores); EP a dispatch and a combine all-to-all each way.
    public static func block(_ m: ModelShape, b: Double, layout: Layout, setup: TrainingSetup,
                             hardware hw: Hardware, comm: CollectiveModel, rankThreads: Double,
                             expert: Bool = false) -> BlockCost {
        let t = Double(layout.tp), sp = layout.sp && layout.tp > 1, u = sp ? 1 / t : 1
        let s = Double(m.seqLen) / Double(layout.cp), S = Double(m.seqLen), n = b * s
        let h = Double(m.dModel), f = Double(m.ffn), kv = Double(m.kvWidth), hd = Double(m.headDim)
        let p = setup.precision
        func mm(_ rows: Double, _ cols: Double, _ inner: Double) -> Double {
            hw.matmulSeconds(m: rows, n: cols, k: inner, precision: p) / rankThreads
        }
        let attentionLinear = mm(n, (h + 2 * kv) / t, h) + mm(n, h, h / t)
        var mlp = (m.swiglu ? 2 : 1) * mm(n, f / t, h) + mm(n, h, f / t)
        var innerWidth = f / t, permuted = 0.0
        let moe = expert && m.isMoE
        if moe {
            let local = (Double(m.experts) / Double(layout.ep)).rounded(.up), k = Double(m.topK)
            let F = Double(m.expertFFN) / Double(m.expertTP(layout.tp))
            let rows = n * k * Double(layout.ep) / Double(m.experts)
            mlp = local * ((m.swiglu ? 2 : 1) * mm(rows, F, h) + mm(rows, h, F)) + mm(n, Double(m.experts), h)
            innerWidth = k * F
            permuted = 2 * k * h
        }
        let heads = Double(m.heads) / t
        let core = b * heads * (mm(s, S / 2, hd) + mm(s, hd, S / 2))
        let e = setup.convention.elementBytes
        let scores = b * heads * s * S / 2
        let elementwise = (e * n * (14 * h * u + 3 * innerWidth * (m.swiglu ? 1.5 : 1) + permuted) + 12 * scores)
            / (hw.memoryBandwidth * rankThreads)
        let softmax = 12 * scores / (hw.memoryBandwidth * rankThreads)
        var c = BlockCost()
        c.forward = attentionLinear + mlp + core + elementwise
        c.inputGradient = attentionLinear + mlp + 2 * core + 2 * elementwise
        c.weightGradient = attentionLinear + mlp
        switch setup.recompute {
        case .none: break
        case .selective: c.inputGradient += core + softmax
        case .full: c.inputGradient += c.forward
        }
        var communication = 0.0
        if layout.tp > 1 {
            let bytes = e * n * h
            let once = sp ? comm.seconds(.allGather, bytes: bytes, along: .tp) + comm.seconds(.reduceScatter, bytes: bytes, along: .tp)
                          : comm.seconds(.allReduce, bytes: bytes, along: .tp)
            let collectives: Double = moe && m.expertsWholeOverTP && !sp ? 1 : 2
            communication += collectives * once
            c.forward += collectives * once
            c.inputGradient += collectives * once
            if setup.recompute == .full { c.inputGradient += collectives * once }
        }
        if layout.cp > 1 {
            let ring = RingAttentionCost(m, b: b, layout: layout, elementBytes: e)
            let message = comm.seconds(.pointToPoint, bytes: ring.messageBytes, along: .cp)
            let sendForward = ring.forwardMessages * message, sendBackward = ring.backwardMessages * message
            let shared = hw.sharedCores != nil
            let exposedForward = shared ? sendForward : max(0, sendForward - core)
            let exposedBackward = shared ? sendBackward : max(0, sendBackward - 2 * core)
            communication += exposedForward + exposedBackward
            c.forward += exposedForward + ring.forwardBytes / (hw.memoryBandwidth * rankThreads)
            c.inputGradient += exposedBackward + ring.backwardBytes / (hw.memoryBandwidth * rankThreads)
        }
        if moe && layout.ep > 1 {
            let a2a = 2 * comm.expertAllToAll(bytes: e * n * Double(m.topK) * h)
            communication += 2 * a2a
            c.forward += a2a
            c.inputGradient += a2a
        }
        c.communication = communication
        return c
    }

    /// The output head and loss on the last stage: n×h·V/t products and the
    /// float32 logits' elementwise passes (softmax, cross-entropy, gradient).
    public static func head(_ m: ModelShape, b: Double, layout: Layout, setup: TrainingSetup, hardware hw: Hardware,
                            rankThreads: Double) -> BlockCost {
        let t = Double(layout.tp), n = b * Double(m.seqLen) / Double(layout.cp), h = Double(m.dModel)
        let v = m.paddedVocab(tp: layout.tp) / t
        let product = hw.matmulSeconds(m: n, n: v, k: h, precision: setup.precision) / rankThreads
        let logits = 4 * 4 * n * v / (hw.memoryBandwidth * rankThreads)
        var c = BlockCost()
        c.forward = product + logits
        c.inputGradient = product + logits
        c.weightGradient = product
        return c
    }
}
