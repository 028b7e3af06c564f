import Foundation
import TesseraSupport

extension TrainConfig {
    /// Every key a config file or flag may set, in help order: the model's,
    /// the layout's (`Layout.table`), then training's. The flag is `--KEY`.
    public static let table = SettingTable<TrainConfig>(
        [
            .int("vocab", \.model.vocab, 256...16_777_216, .model, help: "Vocabulary size (bytes are 0-255)."),
            .int("seq-len", \.model.seqLen, 1...1_048_576, .model, help: "Context length."),
            .int("layers", \.model.layers, 1...100_000, .model, help: "Transformer blocks."),
            .int("d-model", \.model.dModel, 1...1_048_576, .model, help: "Model width."),
            .int("heads", \.model.heads, 1...65536, .model, help: "Attention heads (must divide d-model)."),
            .choice("arch", \.model.arch, .model,
                    help: "Model family: gpt2, or llama (RMSNorm, SwiGLU, rotary, GQA)."),
            .optionalInt("kv-heads", \.model.kvHeads, 1...65536, .model,
                         help: "Key/value heads of grouped-query attention (llama; default: heads)."),
            .optionalInt("ffn-hidden", \.model.ffnHidden, 1...16_777_216, .model,
                         help: "Feed-forward width (default 4·d; llama 8d/3 up to ffn-multiple-of)."),
            .int("ffn-multiple-of", \.model.ffnMultipleOf, 1...1_048_576, .model,
                 help: "Llama's default feed-forward width rounds up to this multiple."),
            .number("rope-theta", \.model.ropeTheta, .model, valid: "a positive number",
                    help: "Rotary embedding base θ (llama).", accepts: { $0 > 0 }),
            .number("norm-eps", \.model.normEps, .model, valid: "a positive number",
                    help: "RMSNorm ε (llama).", accepts: { $0 > 0 }),
            .optionalBool("tie-embeddings", \.model.tieEmbeddings, .model,
                          help: "LM head shares the token embedding (default: gpt2 yes, llama no)."),
            .number("dropout", \.model.dropout, .model, valid: "a number in [0, 1)", help: "Dropout probability.",
                    accepts: { $0 >= 0 && $0 < 1 }),
            .int("experts", \.model.experts, 0...4096, .model,
                 help: "Experts per MoE block (0: dense); top-k ties go to the lower index."),
            .int("top-k", \.model.topK, 1...4096, .model,
                 help: "Experts per token: top-k of a fp32 softmax router, gates renormalised."),
            .int("expert-hidden", \.model.expertHidden, 0...1_048_576, .model,
                 help: "Hidden width of one expert (0: 4·d-model)."),
            .int("moe-every", \.model.moeEvery, 1...100_000, .model,
                 help: "Every N-th block is a mixture of experts (1: all)."),
            .number("capacity-factor", \.model.capacityFactor, .model, valid: "0 (dropless) or a positive number",
                    help: "Per-sample expert capacity ceil(C·T·K/E); the rest drop (0: dropless).",
                    accepts: { $0 >= 0 }),
            .number("aux-loss-coeff", \.model.auxLossCoeff, .model, valid: "zero or a positive number",
                    help: "Load-balancing loss α·E·Σ f·P per sample (Switch/GShard).", accepts: { $0 >= 0 }),
            .number("z-loss-coeff", \.model.zLossCoeff, .model, valid: "zero or a positive number",
                    help: "Router z-loss β·mean(logsumexp²).", accepts: { $0 >= 0 }),
        ]
        + Layout.table.settings.map { $0.lifted(\TrainConfig.layout) }
        + [
            .int("steps", \.steps, 1...1_000_000_000, .train, help: "Optimizer steps (the run's last step)."),
            .int("batch", \.batch, 1...16_777_216, .train, help: "Global batch in sequences."),
            .number("lr", \.lr, .train, valid: "a positive number", help: "Peak learning rate.", accepts: { $0 > 0 }),
            .number("min-lr-ratio", \.minLRRatio, .train, valid: "a number in [0, 1]",
                    help: "Final learning rate as a fraction of the peak.", accepts: { $0 >= 0 && $0 <= 1 }),
            .int("warmup", \.warmup, 0...1_000_000_000, .train, help: "Warm-up steps."),
            .number("weight-decay", \.weightDecay, .train, valid: "zero or a positive number",
                    help: "AdamW weight decay (2-D weights).", accepts: { $0 >= 0 }),
            .number("beta1", \.beta1, .train, valid: "a number in [0, 1)", help: "AdamW first-moment decay.",
                    accepts: { $0 >= 0 && $0 < 1 }),
            .number("beta2", \.beta2, .train, valid: "a number in [0, 1)", help: "AdamW second-moment decay.",
                    accepts: { $0 >= 0 && $0 < 1 }),
            .number("grad-clip", \.gradClip, .train, valid: "0 (off) or a positive number",
                    help: "Global gradient-norm clip.", accepts: { $0 >= 0 }),
            Setting("seed", \.seed, section: .train, valid: "an integer in 0...\(Int.max)",
                    help: "Run seed (weights, data order, dropout).",
                    decode: { $0.asInt.flatMap { $0 >= 0 ? UInt64($0) : nil } }, encode: { .int(Int(truncatingIfNeeded: $0)) }),
            .string("data", \.data, .train,
                    help: "Text file or `data prepare` directory (default: the built-in corpus)."),
            .string("tokenizer", \.tokenizer, .train, help: "tokenizer.json to encode a text --data file with (default: bytes)."),
            .string("tokenizer-sha256", \.tokenizerSha256, .train,
                    help: "SHA-256 the data's tokenizer must have (checkpoints record it)."),
            .int("eval-every", \.evalEvery, 0...1_000_000_000, .train, help: "Validate every N steps (0: only at the end)."),
            .int("eval-batches", \.evalBatches, 1...1_000_000, .train, help: "Validation batches per evaluation."),
            .int("log-every", \.logEvery, 0...1_000_000_000, .train,
                 help: "Progress line every N steps (0: only the first and last)."),
            .string("checkpoint", \.checkpoint, .train, help: "Checkpoint directory to save to."),
            .int("checkpoint-every", \.checkpointEvery, 0...1_000_000_000, .train,
                 help: "Also save every N steps (0: only at the end)."),
            .string("resume", \.resume, .train, help: "Continue the run saved in this checkpoint directory."),
            .bool("overwrite", \.overwrite, .train, help: "Let a fresh run replace the checkpoint in --checkpoint."),
            .int("sample", \.sample, 0...1_048_576, .train,
                 help: "Bytes to sample after training (0: none)."),
            .int("threads", \.threads, 0...4096, .train, help: "Kernel threads of a one-rank run (0: all cores)."),
            .number("bucket-mb", \.bucketMB, .train, valid: "a positive number",
                    help: "Data-parallel gradient bucket size in MiB.", accepts: { $0 > 0 }),
            .string("trace", \.trace, .train, help: "Write a Chrome/Perfetto trace of every rank here."),
            .string("metrics", \.metrics, .train, help: "Write one JSON line per logged step here."),
            .string("tensorboard", \.tensorboard, .train,
                    help: "Add a TensorBoard events file of logged steps to this directory."),
            .string("moe-stats", \.moeStats, .train,
                    help: "Write tokens routed to each expert per MoE block per step to this CSV."),
            .bool("quiet", \.quiet, .train, help: "No per-step progress lines."),
            .number("timeout", \.timeout, .train, valid: "a positive number of seconds",
                    help: "Seconds a rank waits for the others before the job is aborted.", accepts: { $0 > 0 }),
            .number("memory-budget", \.memoryBudget, .train, valid: "0 (none) or a positive number of GiB",
                    help: "Refuse a run whose estimated memory per rank exceeds this many GiB.", accepts: { $0 >= 0 }),
            .choice("recompute", \.recompute, .train,
                    help: "Recomputation: none, selective (attention core), full (blocks)."),
            .choice("precision", \.precision, .train,
                    help: "Matrix products: fp32, or bf16 inputs with float32 accumulation."),
        ])
}

/// A checkpoint stores the config as a flat JSON object of table keys, so a
/// key added later reads back as its default.
extension TrainConfig: Codable {
    /// Settings of one invocation rather than of the run: a resumed run
    /// traces, resumes or waits only as asked again, and saves to its own
    /// directory (a checkpoint records no path of the machine that wrote it).
    static let notStored: Set<String> = ["resume", "trace", "metrics", "tensorboard", "moe-stats", "quiet", "checkpoint", "timeout", "overwrite"]

    /// Keys a stored config must hold: the model's shape, which no default may stand in for.
    static let requiredStored = ["vocab", "seq-len", "layers", "d-model", "heads"]

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let object = try container.decode([String: ConfigValue].self)
        if let missing = Self.requiredStored.first(where: { object[$0] == nil }) {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "stored config lacks '\(missing)'")
        }
        self.init()
        try Self.table.apply(object.keys.sorted().map { ConfigEntry($0, object[$0]!, source: "stored config") }, to: &self)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        let stored = Self.table.entries(of: self).filter { !Self.notStored.contains($0.key) }
        try c.encode(Dictionary(uniqueKeysWithValues: stored.map { ($0.key, $0.value) }))
    }
}
