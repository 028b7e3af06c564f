import TesseraTopology

/// Bytes one rank keeps for backward, per micro-batch, by Korthikanti et al.
/// 2022 ("Reducing Activation Recomputation in Large Transformer Models",
/// §4), generalised to grouped-query attention, SwiGLU, experts and context
/// parallelism, and parameterised by `ActivationConvention` so the same
/// formula gives their Table 2 (2-byte activations, 1-byte masks) and
/// Tessera's float32 accounting (`bench activations` and the tests check it against the caches).
///
/// Per block, with s the local sequence (s / cp), b the micro-batch, h the
/// width, t the tensor-parallel size, u = 1/t under sequence parallelism
/// (else 1), e and k the element and mask bytes:
/// - whole unless SP: both norms' inputs and outputs 4·e·sbh·u, two residual
///   dropout masks 2·k·sbh·u, norm statistics;
/// - split over t: Q, K, V e·sb(h + 2·kv)/t, the output projection's input
///   e·sbh/t, the feed-forward's inner activations 2·e·sb·ffn/t (SwiGLU 3);
/// - attention scores (dropped under selective recompute): softmax e, mask k
///   and dropped probabilities e, each a·s·s_kv·b/t; blockwise attention
///   (Tessera) keeps a float32 log-sum-exp per row and head instead, 4·a·s·b/t,
///   and under selective recompute drops it and the projection's input (the
///   core's outputs, computed again in backward);
/// - full recompute keeps only the block input, e·sbh·u.
/// With e = 2, k = 1, GPT shapes: sbh(10 + 24/t + 5as/(ht)), and
/// sbh(34/t + 5as/(ht)) under SP, their Table 2.
///
/// A mixture-of-experts block keeps, instead of the feed-forward's inner
/// activations, the sb·K rows its tokens' top-K choices send to experts
/// (each expert's input e·h and inner 2·e·F, 3 for SwiGLU, F the expert
/// width, /t when experts split over tp) and the sb·K results that come
/// back (e·h each); with experts whole on every tp rank under SP (or in
/// Tessera's runtime, split or not), also the gathered input, e·sbh·(1 − 1/t). Under expert parallelism the rows an
/// expert rank receives depend on the routing: sb·K is their mean.
public enum ActivationModel {
    /// Bytes one block (a mixture of experts when `expert`) keeps per micro-batch of `b` sequences on one rank.
    public static func perBlock(_ m: ModelShape, b: Double, tp: Int, sp: Bool, cp: Int = 1,
                                recompute: Recompute, _ c: ActivationConvention, expert: Bool = false) -> Double {
        let t = Double(tp), u = sp ? 1 / t : 1
        let s = Double(m.seqLen) / Double(cp), h = Double(m.dModel), sb = s * b, sbh = sb * h
        let e = c.elementBytes, k = c.maskBytes
        if recompute == .full { return e * sbh * u }
        let whole = (4 * e + 2 * k) * sbh * u + 4 * c.normStatistics * 2 * sb * u
        let innerTensors: Double = m.swiglu ? 3 : 2
        var inner = innerTensors * e * sb * Double(m.ffn) / t
        if expert && m.isMoE {
            let routed = sb * Double(m.topK), et = Double(m.expertTP(tp))
            inner = routed * e * (2 * h + innerTensors * Double(m.expertFFN) / et)
                + (m.expertsWholeOverTP || c.expertInputGathered ? e * sbh * (1 - u) : 0)
        }
        let coreRecomputed = c.blockwiseAttention && recompute == .selective
        let split = e * sb * (h + 2 * Double(m.kvWidth)) / t + (coreRecomputed ? 0 : e * sbh / t) + inner
        let scores = c.blockwiseAttention ? (coreRecomputed ? 0 : 4 * Double(m.heads) * s * b / t)
            : recompute == .selective ? 0
            : Double(m.heads) * s * Double(m.seqLen) * b / t * (e + k + (c.storesDroppedProbabilities ? e : 0))
        return whole + split + scores
    }

    /// Bytes the output head keeps per micro-batch on the last stage: the
    /// final norm's input and statistics, the head's input and float32
    /// logits over the padded vocabulary (Korthikanti: 4sbh/t·(1 + v/h) under SP).
    public static func head(_ m: ModelShape, b: Double, tp: Int, sp: Bool, cp: Int = 1,
                            _ c: ActivationConvention) -> Double {
        let t = Double(tp), u = sp ? 1 / t : 1
        let sb = Double(m.seqLen) / Double(cp) * b, sbh = sb * Double(m.dModel)
        return c.elementBytes * sbh * u + 4 * c.normStatistics * sb * u
            + c.elementBytes * sbh * (c.headInputGathered ? 1 : 1 / t)
            + 4 * c.logitCopies * sb * m.paddedVocab(tp: tp) / t
    }

    /// Bytes the embedding keeps per micro-batch on the first stage (its dropout mask).
    public static func embedding(_ m: ModelShape, b: Double, tp: Int, sp: Bool, cp: Int = 1,
                                 _ c: ActivationConvention) -> Double {
        c.maskBytes * Double(m.seqLen) / Double(cp) * b * Double(m.dModel) * (sp ? 1 / Double(tp) : 1)
    }
}
