import ArgumentParser
import Tessera

/// Flags that override a `TrainConfig`; any flag given wins over the config file.
struct ConfigOptions: ParsableArguments {
    @Option(help: "Config file (JSON, or TOML 'key = value' lines) with any of the keys below.")
    var config: String?
    @Option(help: "Optimizer steps.") var steps: Int?
    @Option(help: "Training text file (default: the built-in corpus).") var data: String?
    @Option(help: "Transformer blocks.") var layers: Int?
    @Option(name: .customLong("d-model"), help: "Model width.") var dModel: Int?
    @Option(help: "Attention heads (must divide d-model).") var heads: Int?
    @Option(name: .customLong("seq-len"), help: "Context length.") var seqLen: Int?
    @Option(help: "Vocabulary size (>= 256).") var vocab: Int?
    @Option(help: "Global batch in sequences.") var batch: Int?
    @Option(name: .customLong("micro-batches"), help: "Gradient-accumulation micro-batches per step.") var microBatches: Int?
    @Option(help: "Peak learning rate.") var lr: Float?
    @Option(help: "Warm-up steps.") var warmup: Int?
    @Option(name: .customLong("weight-decay"), help: "AdamW weight decay (2-D weights).") var weightDecay: Float?
    @Option(name: .customLong("grad-clip"), help: "Global gradient-norm clip (0: off).") var gradClip: Float?
    @Option(help: "Run seed (weights, data order, dropout).") var seed: Int?
    @Option(help: "Dropout probability.") var dropout: Float?
    @Option(name: .customLong("eval-every"), help: "Validate every N steps.") var evalEvery: Int?
    @Option(name: .customLong("log-every"), help: "Progress line every N steps.") var logEvery: Int?
    @Option(help: "Checkpoint directory to save to.") var checkpoint: String?
    @Option(name: .customLong("checkpoint-every"), help: "Also save every N steps.") var checkpointEvery: Int?
    @Option(help: "Kernel threads (0: all cores).") var threads: Int?
    @Option(help: "Data-parallel ranks.") var dp: Int?
    @Option(help: "Tensor-parallel ranks (must divide heads).") var tp: Int?
    @Flag(inversion: .prefixedNo, help: "Sequence parallelism inside the tensor-parallel group.") var sp: Bool?
    @Option(name: .customLong("bucket-mb"), help: "Data-parallel gradient bucket size in MiB.") var bucketMB: Float?
    @Option(help: "Pipeline ranks (micro-batches are the pipeline's).") var pp: Int?
    @Option(help: "Pipeline schedule: naive, gpipe, 1f1b, interleaved, zb-h1.") var schedule: String?
    @Option(name: .customLong("pp-chunks"), help: "Virtual stages per pipeline rank (interleaved).") var ppChunks: Int?
    @Option(name: .customLong("pp-layers"), help: "Blocks per virtual stage, e.g. 3,3,2 (default: balanced by cost).")
    var ppLayers: String?
    @Option(help: "Write the last step's pipeline timeline to this file (draw it: tessera schedule --from-trace FILE).")
    var trace: String?

    @Option(help: "Matrix-product precision: fp32, or bf16 (bf16 inputs, float32 accumulation, float32 master weights).")
    var precision: String?

    /// The flags that were given, as config keys and values.
    var overrides: [(String, TrainConfig.Value)] {
        var out: [(String, TrainConfig.Value)] = []
        func add(_ key: String, _ v: Int?) { if let v { out.append((key, .int(v))) } }
        func add(_ key: String, _ v: Float?) { if let v { out.append((key, .float(Double(v)))) } }
        func add(_ key: String, _ v: String?) { if let v { out.append((key, .string(v))) } }
        add("steps", steps); add("data", data); add("layers", layers); add("d-model", dModel)
        add("heads", heads); add("seq-len", seqLen); add("vocab", vocab); add("batch", batch)
        add("micro-batches", microBatches); add("lr", lr); add("warmup", warmup)
        add("weight-decay", weightDecay); add("grad-clip", gradClip); add("seed", seed)
        add("dropout", dropout); add("eval-every", evalEvery); add("log-every", logEvery)
        add("checkpoint", checkpoint); add("checkpoint-every", checkpointEvery); add("threads", threads)
        add("dp", dp); add("tp", tp); add("bucket-mb", bucketMB); add("pp", pp); add("schedule", schedule)
        add("pp-chunks", ppChunks); add("pp-layers", ppLayers); add("trace", trace); add("precision", precision)
        if let sp { out.append(("sp", .bool(sp))) }
        return out
    }

    /// `base`, then the config file, then the flags, validated.
    func resolve(base: TrainConfig = TrainConfig()) throws -> TrainConfig {
        var c = base
        if let config { try c.apply(file: config) }
        for (k, v) in overrides { try c.set(k, v, source: "command-line flag --\(k)") }
        try c.validate()
        return c
    }
}
