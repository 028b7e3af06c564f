import Synchronization

/// Activation memory of one transformer layer per rank under tensor (and
/// sequence) parallelism, measured from the tensors a block saves for
/// backward, beside Korthikanti et al. 2022 ("Reducing Activation
/// Recomputation in Large Transformer Models", Table 2).
///
/// Their per-layer bytes, with s sequence, b batch, h width, a heads, t tp
/// size, 2-byte activations and 1-byte dropout masks:
/// TP sbh(10 + 24/t + 5as/(ht)); TP+SP sbh(34/t + 5as/(ht)).
/// How Tessera's layer maps onto theirs: activations are float32 (×2 per
/// entry); dropout masks are regenerated from Philox, never stored (their
/// 2sbh residual-mask bytes and as²b probability-mask bytes are 0 here); the
/// dropped attention probabilities are rebuilt from the saved softmax and the
/// mask (their 2as²b is 0 here); LayerNorm saves its per-row mean and 1/σ
/// (4 floats per token, which they leave out). So per layer, in floats:
/// TP sbh(4 + 12/t) + as²b/t + 4sb; TP+SP sbh·16/t + as²b/t + 4sb/t.
public enum ActivationMemory {
    /// One layout's figures, in bytes per layer per rank.
    public struct Row: Sendable {
        public var tp: Int, sp: Bool
        public var recompute: Recompute
        public var measured: Int
        public var tesseraFormula: Int
        public var korthikanti: Double
    }

    /// Tessera's per-layer bytes for shape (s, b, h, a) at tp size t, in
    /// `Double` so that sizes far beyond memory (the launch-time estimate)
    /// cannot overflow; exact for any valid layout, where t divides a, h
    /// and (under SP) s, so every term is a whole number.
    ///
    /// With recomputation: `selective` drops the attention probabilities
    /// (the as²b/t term); `full` keeps only the block's input, sbh floats
    /// (sbh/t under SP), Korthikanti et al.'s 2sbh in 2-byte units.
    public static func tesseraFormula(s: Double, b: Double, h: Double, a: Double, t: Int, sp: Bool,
                                      recompute: Recompute = .none) -> Double {
        let T = Double(t), sbh = s * b * h, attn = recompute == .none ? a * s * s * b / T : 0
        if recompute == .full { return 4 * (sp ? sbh / T : sbh) }
        let floats = sp ? 16 * sbh / T + attn + 4 * s * b / T : 4 * sbh + 12 * sbh / T + attn + 4 * s * b
        return 4 * floats
    }

    /// Korthikanti et al.'s per-layer bytes (2-byte activations, 1-byte masks).
    public static func korthikanti(s: Int, b: Int, h: Int, a: Int, t: Int, sp: Bool) -> Double {
        let sbh = Double(s * b * h), T = Double(t), attn = 5 * Double(a * s) / (Double(h) * T)
        return sp ? sbh * (34 / T + attn) : sbh * (10 + 24 / T + attn)
    }

    /// Measures the activation bytes one block saves on tp rank 0 after a
    /// forward+backward of a `batch`-sample micro-batch of `config`.
    public static func measure(config: GPTConfig, batch: Int, tp: Int, sp: Bool, recompute: Recompute = .none) throws -> Row {
        let bytes = Mutex(0)
        let tokens = (0..<(batch * config.seqLen)).map { Int32($0 % 256) }
        try ThreadWorld.run(size: tp) { world in
            let group = TensorParallel(group: world, sequenceParallel: sp)
            let model = GPT(config, seed: 1, tp: group)
            model.recompute = recompute
            let ctx = ForwardContext(samples: batch, positions: config.seqLen, sampleOffset: 0, step: 0, seed: 1,
                                     dropout: config.dropout)
            _ = try model.forwardBackward(tokens, tokens, ctx, gradScale: 1)
            if world.rank == 0 { bytes.withLock { $0 = model.lastLayerActivationBytes } }
        }
        let (s, b, h, a) = (config.seqLen, batch, config.dModel, config.heads)
        return Row(tp: tp, sp: sp && tp > 1, recompute: recompute, measured: bytes.withLock { $0 },
                   tesseraFormula: Int(tesseraFormula(s: Double(s), b: Double(b), h: Double(h), a: Double(a), t: tp,
                                                      sp: sp && tp > 1, recompute: recompute)),
                   korthikanti: korthikanti(s: s, b: b, h: h, a: a, t: tp, sp: sp && tp > 1))
    }
}
