import TesseraKernels
import TesseraTopology

/// What `tessera plan` is asked, as given (nil: not given): a model preset
/// and shape overrides, the devices and hardware, the training setup and
/// optionally a layout. `PlanInputs` checks and resolves it.
public struct PlanRequest: Sendable {
    /// Model preset (`ModelPresets.names`) and shape fields on top of it (all needed without one).
    public var model: String?
    public var layers: Int?, dModel: Int?, heads: Int?, kvHeads: Int?, ffn: Int?, vocab: Int?, seqLen: Int?
    /// Output head tied to the embedding (true) or its own matrix (false); nil: the preset's, else untied.
    public var tied: Bool?
    public var swiglu = false
    /// Mixture of experts: experts per layer, experts per token, every N-th block, one expert's width.
    public var experts: Int?, topK: Int?, moeEvery: Int?, expertFFN: Int?
    /// Devices (nil: the layout's product) and devices per node.
    public var gpus: Int?, gpusPerNode: Int?
    /// Device preset, or explicit memory (GiB), peak (TFLOP/s) and bandwidths (GB/s) on top of one.
    public var gpu: String?, gpuMemory: Double?, gpuTflops: Double?, intraNodeGBps: Double?, interNodeGBps: Double?
    /// A hardware profile file (`tessera bench profile`) and its collective backend (threads or mpi).
    public var hardware: String?, backend = "threads"
    /// Sequences per step, and per micro-batch (nil: searched; 1 with a layout).
    public var globalBatch = 512, microBatch: Int?
    public var precision: Precision = .bf16
    /// Gradient dtype: bf16 (2 bytes) or fp32 (4).
    public var gradDtype: Precision = .fp32
    /// Recomputation (nil: searched; none with a layout).
    public var recompute: Recompute?
    /// Activation accounting: "megatron" or "tessera" (nil: tessera with a profile, else megatron).
    public var activations: String?
    /// The layout to evaluate: "dp=4,tp=4,pp=4,zero=1,schedule=1f1b,chunks=1" or a layout name (nil: search).
    public var layout: String?

    public init() {}
}
