import Foundation
import TesseraSupport
import TesseraKernels

/// Everything a training run needs besides the data bytes. Config files and
/// flags set it through `TrainConfig.table` (keys are the flag names without
/// `--`); checkpoints store it as those keys too.
public struct TrainConfig: Sendable, Equatable {
    public var model = GPTConfig()
    /// How the run is spread over ranks (dp, pp, tp, sp, schedule, micro-batches, …).
    public var layout = Layout()
    /// Optimizer steps in the run.
    public var steps = 1000
    /// Global batch in sequences.
    public var batch = 16
    /// Peak learning rate.
    public var lr: Float = 2e-3
    /// Final learning rate as a fraction of the peak.
    public var minLRRatio: Float = 0.1
    /// Warm-up steps.
    public var warmup = 40
    public var weightDecay: Float = 0.1
    public var beta1: Float = 0.9
    public var beta2: Float = 0.95
    /// Global gradient-norm limit (0 disables clipping).
    public var gradClip: Float = 1.0
    public var seed: UInt64 = 1337
    /// Training data: a text file, or a directory of `tessera data prepare`; nil means the built-in corpus.
    public var data: String?
    /// A tokenizer.json to encode a text `data` file with (nil: bytes, or a prepared directory's own tokenizer).
    public var tokenizer: String?
    /// The SHA-256 of the tokenizer the run trains with (recorded in checkpoints; data of another tokenizer is refused).
    public var tokenizerSha256: String?
    /// Validate every N steps (0: only at the end).
    public var evalEvery = 250
    /// Validation batches per evaluation.
    public var evalBatches = 4
    /// Print a progress line every N steps (0: only after the first and the last step).
    public var logEvery = 10
    /// Checkpoint directory; nil means no checkpoint.
    public var checkpoint: String?
    /// Save every N steps as well as at the end (0: only at the end).
    public var checkpointEvery = 0
    /// Continue the run saved in this checkpoint directory (read by `tessera train`; nil: a fresh run).
    public var resume: String?
    /// Let a fresh run replace the checkpoint already in `checkpoint` (otherwise refused).
    public var overwrite = false
    /// Bytes `tessera train` samples from the model after training (0: none).
    public var sample = 240
    /// Kernel threads of a one-rank run (0: all cores).
    public var threads = 0
    /// Data-parallel gradient bucket size in MiB (gradients are all-reduced a bucket at a time).
    public var bucketMB: Float = 25
    /// Write a Chrome trace of every rank (regions, collectives, pipeline actions) to this file.
    public var trace: String?
    /// Write one JSON line per logged step to this file.
    public var metrics: String?
    /// Add a TensorBoard events file of the logged steps' scalars to this directory.
    public var tensorboard: String?
    /// Write the choices routed to each expert of each MoE block at every step to this CSV.
    public var moeStats: String?
    /// Print no per-step progress (only validation, summaries and errors).
    public var quiet = false
    /// Precision of matrix products (fp32, or bf16 inputs with float32 accumulation).
    public var precision = Precision.fp32
    /// Seconds a rank waits for the others in a collective before the job is aborted.
    public var timeout: Float = 60
    /// What backward recomputes instead of keeping (none, the attention core, or whole blocks).
    public var recompute = Recompute.none
    /// GiB one rank may use by the launch-time estimate (0: only the machine's memory limits it).
    public var memoryBudget: Float = 0

    public init() {}

    /// A config value as read from a file or the command line.
    public typealias Value = ConfigValue

    /// Sets `key` from `value` through the table; unknown keys and bad values are `ConfigError`s naming `source`.
    public mutating func set(_ key: String, _ value: Value, source: String) throws {
        try Self.table.apply([ConfigEntry(key, value, source: source)], to: &self)
    }

    /// Applies a config file (TOML, or JSON when the name ends in .json).
    public mutating func apply(file path: String) throws {
        try Self.table.apply(try ConfigFile.read(path), to: &self)
    }

    /// Throws a `ConfigError` for the first invalid value, naming it and what is valid.
    public func validate() throws {
        try model.validate()
        try Self.table.validate(self)
        try Topology.validate(layout, model: ModelShape(model), batch: batch, recompute: recompute)
        try layout.requireMessageTags()
    }

    /// Kernel threads of a one-rank run: `threads`, or every core when 0.
    public var kernelThreads: Int { threads == 0 ? ProcessInfo.processInfo.activeProcessorCount : threads }

    /// The same run on one rank: the default layout but the same micro-batches, no pipeline trace.
    public var oneRank: TrainConfig {
        var c = self
        c.layout = Layout()
        c.layout.microBatches = layout.microBatches
        c.trace = nil
        return c
    }

    /// Ranks the layout needs.
    public var worldSize: Int { layout.worldSize }

    /// Throws unless the job's `ranks` (started by mpirun, or not) is the layout's world size.
    public func requireWorldSize(_ ranks: Int, underMPI: Bool) throws {
        try layout.requireWorldSize(ranks, underMPI: underMPI)
    }

    /// The layout in words, e.g. "dp2×tp2+sp" ("serial" for one rank).
    public var layoutName: String { layout.name }
}

/// Shorthands for the layout fields the trainer reads most.
extension TrainConfig {
    public var dp: Int { get { layout.dp } set { layout.dp = newValue } }
    public var pp: Int { get { layout.pp } set { layout.pp = newValue } }
    public var tp: Int { get { layout.tp } set { layout.tp = newValue } }
    public var sp: Bool { get { layout.sp } set { layout.sp = newValue } }
    public var microBatches: Int { get { layout.microBatches } set { layout.microBatches = newValue } }
    public var ppChunks: Int { get { layout.ppChunks } set { layout.ppChunks = newValue } }
    public var schedule: PipelineScheduleKind { get { layout.schedule } set { layout.schedule = newValue } }
}

extension TrainConfig {
    /// Throws unless the run has steps left after the checkpoint's `step`
    /// (a resumed run trains from `step` up to `steps`).
    public func requireSteps(after step: Int, resuming dir: String) throws {
        guard steps <= step else { return }
        throw ConfigError("checkpoint '\(dir)' is already at step \(step) and steps is \(steps): nothing to train; "
                          + "pass --steps greater than \(step) to continue it")
    }
}
