import TesseraKernels
import TesseraTopology

/// How a framework stores what backward needs, in bytes per element: the
/// terms that separate Korthikanti et al.'s accounting (2-byte activations,
/// 1-byte dropout masks) from Tessera's (float32, masks regenerated from
/// Philox, dropped attention probabilities rebuilt, LayerNorm statistics kept).
public struct ActivationConvention: Sendable, Equatable, Codable {
    /// Bytes of a saved activation.
    public var elementBytes: Double
    /// Bytes of a saved dropout-mask entry (0: regenerated).
    public var maskBytes: Double
    /// Keeps dropout(softmax) beside softmax (Megatron) rather than rebuilding it.
    public var storesDroppedProbabilities: Bool
    /// float32 statistics saved per token per norm (mean and 1/σ: 2; none: 0).
    public var normStatistics: Double
    /// The output head saves its input gathered over the tensor-parallel group (Tessera) instead of a 1/t shard.
    public var headInputGathered: Bool
    /// Copies of the float32 logits kept for backward.
    public var logitCopies: Double
    /// Attention is blockwise (FlashAttention's online softmax): one float32
    /// log-sum-exp per query row and head is kept instead of the scores.
    public var blockwiseAttention = false
    /// A mixture-of-experts block keeps its input gathered over the tensor-parallel group under SP whether its
    /// experts are whole or split over tp (Tessera routes every row on every tp rank).
    public var expertInputGathered = false

    /// Korthikanti et al.'s Megatron accounting at `elementBytes` (2 for bf16/fp16).
    public static func megatron(elementBytes: Double = 2) -> ActivationConvention {
        ActivationConvention(elementBytes: elementBytes, maskBytes: 1, storesDroppedProbabilities: true,
                             normStatistics: 0, headInputGathered: false, logitCopies: 1)
    }

    /// Tessera's runtime: float32 everything, masks and dropped probabilities rebuilt.
    public static let tessera = ActivationConvention(elementBytes: 4, maskBytes: 0, storesDroppedProbabilities: false,
                                                     normStatistics: 2, headInputGathered: true, logitCopies: 1,
                                                     blockwiseAttention: true, expertInputGathered: true)
}

/// What one training run looks like besides model, machine and layout.
public struct TrainingSetup: Sendable, Equatable {
    /// Sequences per optimizer step.
    public var globalBatch: Int
    /// Sequences per micro-batch on one data-parallel rank.
    public var microBatch: Int
    /// Precision of matrix products (and of weights as they are multiplied).
    public var precision: Precision
    /// Bytes of a gradient: 2 (bf16, the ZeRO paper's 2+2+12) or 4 (float32, Megatron's 2+4+12).
    public var gradientBytes: Double
    public var recompute: Recompute
    /// How activations are stored.
    public var convention: ActivationConvention

    public init(globalBatch: Int, microBatch: Int = 1, precision: Precision = .bf16, gradientBytes: Double? = nil,
                recompute: Recompute = .none, convention: ActivationConvention? = nil) {
        self.globalBatch = globalBatch; self.microBatch = microBatch; self.precision = precision
        self.gradientBytes = gradientBytes ?? (precision == .bf16 ? 2 : 4)
        self.recompute = recompute
        self.convention = convention ?? .megatron(elementBytes: precision == .bf16 ? 2 : 4)
    }

    /// Bytes of the weights products read: 2 for bf16 working copies, 4 for fp32.
    public var weightBytes: Double { precision == .bf16 ? 2 : 4 }
    /// Bytes of float32 master weights kept beside bf16 working copies (0 in fp32: the weights are the master).
    public var masterBytes: Double { precision == .bf16 ? 4 : 0 }
    /// Adam's two float32 moments.
    public static let optimizerBytes = 8.0
}
