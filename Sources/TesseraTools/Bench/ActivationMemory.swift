import Synchronization
import TesseraComm
import TesseraTopology
import TesseraModel
import TesseraCost

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
/// attention core is blockwise (`BlockwiseAttention`): it saves one
/// log-sum-exp per (row, head) and recomputes the probabilities in backward,
/// so their 2as²b softmax and 2as²b dropout-output bytes become asb/t floats;
/// LayerNorm saves its per-row mean and 1/σ (4 floats per token, which they
/// leave out). So per layer, in floats:
/// TP sbh(4 + 12/t) + asb/t + 4sb; TP+SP sbh·16/t + asb/t + 4sb/t.
public enum ActivationMemory {
    /// One layout's figures, in bytes per layer per rank.
    public struct Row: Sendable {
        public var tp: Int, sp: Bool
        public var recompute: Recompute
        public var measured: Int
        /// The cost model's bytes (`ActivationModel.perBlock`, Tessera's float32 convention): the one
        /// activation formula the planner and the launch-time estimate use, checked here against the caches.
        public var tesseraFormula: Int
        public var korthikanti: Double
    }

    /// Bytes per layer selective recomputation does not keep, with or
    /// without SP: the attention core's outputs, the head outputs y (sbh/t
    /// floats) and one log-sum-exp per row and head (asb/t floats).
    public static func selectiveSaving(s: Double, b: Double, h: Double, a: Double, t: Int) -> Double {
        4 * (s * b * h + a * s * b) / Double(t)
    }

    /// Korthikanti et al.'s per-layer bytes (2-byte activations, 1-byte masks).
    public static func korthikanti(s: Int, b: Int, h: Int, a: Int, t: Int, sp: Bool) -> Double {
        let sbh = Double(s * b * h), T = Double(t), attn = 5 * Double(a * s) / (Double(h) * T)
        return sp ? sbh * (34 / T + attn) : sbh * (10 + 24 / T + attn)
    }

    /// One context-parallel size's figures at one sequence length, in bytes
    /// per layer on cp rank 0.
    public struct ContextRow: Sendable {
        public var seqLen: Int, cp: Int
        public var measured: Int
        /// `ActivationModel.perBlock` at s = seqLen / cp (the positions a rank holds).
        public var tesseraFormula: Int
        /// What the same layer saved before the blockwise kernel: the
        /// formula plus the [b, a, s, s] probabilities of the whole sequence
        /// (a·s²·b floats), the term context parallelism would have to shard.
        public var withProbabilities: Double
    }

    /// Measures the activation bytes one block saves on context-parallel
    /// rank 0 after the forward of a `batch`-sample micro-batch of `config`
    /// with the sequence split over `cp` thread ranks (ring attention).
    public static func measure(config: GPTConfig, batch: Int, cp: Int) throws -> ContextRow {
        let bytes = Mutex(0)
        let T = config.seqLen
        let tokens = (0..<(batch * T)).map { Int32($0 % 256) }
        try ThreadWorld.run(size: cp) { world in
            let group = ContextParallel(group: world)
            let model = GPT(config, seed: 1)
            let ctx = ForwardContext(samples: batch, positions: T, sampleOffset: 0, step: 0, seed: 1,
                                     dropout: config.dropout, contextParallel: group)
            let local = group.shard(tokens, seqLen: T)
            let cache = try model.stageForward(tokens: local, input: nil, targets: local, ctx, gradScale: 1).cache
            if world.rank == 0 { bytes.withLock { $0 = cache.blocks[0].bytes } }
        }
        let shape = ModelShape(config), b = Double(batch), a = Double(config.heads)
        func formula(cp: Int) -> Double {
            ActivationModel.perBlock(shape, b: b, tp: 1, sp: false, cp: cp, recompute: .none, .tessera)
        }
        return ContextRow(seqLen: T, cp: cp, measured: bytes.withLock { $0 }, tesseraFormula: Int(formula(cp: cp)),
                          withProbabilities: formula(cp: 1) + 4 * a * Double(T) * Double(T) * b)
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
                   tesseraFormula: Int(ActivationModel.perBlock(ModelShape(config), b: Double(b), tp: tp, sp: sp && tp > 1,
                                                                recompute: recompute, .tessera)),
                   korthikanti: korthikanti(s: s, b: b, h: h, a: a, t: tp, sp: sp && tp > 1))
    }
}
