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
    /// SwiGLU's gate and up) and n×(ffn/t)·h, with n = b·s/cp tokens (per
    /// local expert n·top-k·ep/experts); attention's QKᵀ and PV per head over
    /// the causal half of s × s (its backward is all input gradient).
    /// Elementwise: 14 activation-sized reads/writes per token of width h
    /// (norms, residuals, biases; 1/t under SP) and 3 of width ffn/t, plus the
    /// softmax's float32 read, write and mask over the scores; backward twice that.
    /// Recompute repeats the attention core (selective) or the whole forward (full) in B.
    /// Communication: TP/SP two all-reduces (or all-gather + reduce-scatter) of n·h
    /// activations each way; CP a ring of K,V blocks (backward: and their
    /// gradients) overlapped with attention; EP a dispatch and a combine all-to-all each way.
    public static func block(_ m: ModelShape, b: Double, layout: Layout, setup: TrainingSetup,
                             hardware hw: Hardware, comm: CollectiveModel, rankThreads: Double) -> BlockCost {
        let t = Double(layout.tp), sp = layout.sp && layout.tp > 1, u = sp ? 1 / t : 1
        let s = Double(m.seqLen) / Double(layout.cp), S = Double(m.seqLen), n = b * s
        let h = Double(m.dModel), f = Double(m.ffn), kv = Double(m.kvWidth), hd = Double(m.headDim)
        let p = setup.precision
        func mm(_ rows: Double, _ cols: Double, _ inner: Double) -> Double {
            hw.matmulSeconds(m: rows, n: cols, k: inner, precision: p) / rankThreads
        }
        let attentionLinear = mm(n, (h + 2 * kv) / t, h) + mm(n, h, h / t)
        var mlp = (m.swiglu ? 2 : 1) * mm(n, f / t, h) + mm(n, h, f / t)
        if m.experts > 1 {
            let local = (Double(m.experts) / Double(layout.ep)).rounded(.up)
            let rows = n * Double(m.topK) * Double(layout.ep) / Double(m.experts)
            mlp = local * ((m.swiglu ? 2 : 1) * mm(rows, f / t, h) + mm(rows, h, f / t))
        }
        let heads = Double(m.heads) / t
        let core = b * heads * (mm(s, S / 2, hd) + mm(s, hd, S / 2))
        let e = setup.convention.elementBytes
        let scores = b * heads * s * S / 2
        let elementwise = (e * n * (14 * h * u + 3 * f / t * (m.swiglu ? 1.5 : 1)) + 12 * scores)
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
            communication += 2 * once
            c.forward += 2 * once
            c.inputGradient += 2 * once
            if setup.recompute == .full { c.inputGradient += 2 * once }
        }
        if layout.cp > 1 {
            let blockBytes = 2 * e * n * kv / t
            let ring = Double(layout.cp - 1) * comm.seconds(.pointToPoint, bytes: blockBytes, along: .cp)
            let exposedForward = max(0, ring - core), exposedBackward = max(0, 2 * ring - 2 * core)
            communication += exposedForward + exposedBackward
            c.forward += exposedForward
            c.inputGradient += exposedBackward
        }
        if m.experts > 1 && layout.ep > 1 {
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
