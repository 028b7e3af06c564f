import Foundation
import TesseraSupport
import TesseraTopology
import TesseraCost
import TesseraKernels

/// How `tessera serve` runs its engine, checked against the model before
/// any rank starts: sequences at once, the paged KV cache's pool, the step
/// budget, and the layout (tp × pp).
public struct ServingSettings: Sendable {
    /// Sequences decoded at once (the running batch's slots); more wait in arrival order.
    public var slots = 64
    /// Positions per KV cache block.
    public var blockSize = 16
    /// Blocks in the pool (nil: `slots` sequences of the full context, so nothing is ever preempted).
    public var blocks: Int?
    /// Most token rows one step computes (decode rows first, prompts share the rest).
    public var stepTokens = 512
    /// Tensor- and pipeline-parallel ranks, and the pipeline's micro-batch groups (nil: pp).
    public var tp = 1, pp = 1
    public var microBatches: Int?
    /// The form the products read weights in (`--weights`): fp32, bf16 or int8 blocks.
    public var weights = WeightFormat.fp32
    /// Share full KV blocks between sequences whose contexts start alike (`--no-prefix-caching`: never).
    public var prefixCaching = true

    public init() {}

    /// Micro-batch groups the engine runs.
    public var groups: Int { microBatches ?? min(slots, pp) }
    /// Ranks the layout needs.
    public var worldSize: Int { tp * pp }

    /// Blocks in the pool for `model`.
    public func blockCount(_ model: GPTConfig) -> Int { blocks ?? slots * ((model.seqLen + blockSize - 1) / blockSize) }

    /// Throws a one-line `ConfigError` for the first setting out of range, naming what is valid.
    public func validate(model: GPTConfig) throws {
        guard (1...4096).contains(slots) else { throw ConfigError("--max-seqs must be in 1...4096, got \(slots)") }
        guard (1...4096).contains(blockSize) else { throw ConfigError("--block-size must be in 1...4096, got \(blockSize)") }
        guard (1...1_048_576).contains(stepTokens) else {
            throw ConfigError("--step-tokens must be in 1...1048576, got \(stepTokens)")
        }
        if let blocks, blocks < 1 { throw ConfigError("--kv-blocks must be at least 1, got \(blocks)") }
        var layout = GenerationPlan(prompts: [[0]])
        layout.tp = tp; layout.pp = pp; layout.batch = slots; layout.tokens = 1; layout.weights = weights
        if let m = microBatches, !(1...slots).contains(m) {
            throw ConfigError("--micro-batches \(m) must be in 1...\(slots) (--max-seqs)")
        }
        try layout.validate(model: model)
        let cache = Double(layout.cacheBytesPerToken(model)) * Double(blockCount(model) * blockSize)
        let weights = Double(layout.weightBytes(model))
        if let available = MemoryEstimate.availableBytes, cache + weights > available {
            throw ConfigError(String(format: "the KV cache (%.1f GiB: %d blocks of %d positions) and weights need more "
                                     + "than the %.1f GiB available; use a smaller --kv-blocks or --max-seqs",
                                     cache / 1_073_741_824, blockCount(model), blockSize, available / 1_073_741_824))
        }
    }

    /// The layout the ranks run: the generation plan's (tp × pp, GPipe micro-batch groups).
    var layout: Layout {
        var plan = GenerationPlan(prompts: [[0]])
        plan.tp = tp; plan.pp = pp; plan.batch = slots; plan.microBatches = groups
        return plan.layout
    }
}
