import Foundation

/// Everything a training run needs besides the data bytes. Field names in
/// config files and on the command line are the kebab-case keys of `keys`.
public struct TrainConfig: Codable, Sendable, Equatable {
    public var model = GPTConfig()
    /// Optimizer steps in the run.
    public var steps = 1000
    /// Global batch in sequences.
    public var batch = 16
    /// Micro-batches per step (gradient accumulation); divides `batch`.
    public var microBatches = 1
    /// Peak learning rate.
    public var lr: Float = 2e-3
    /// Final learning rate as a fraction of the peak.
    public var minLRRatio: Float = 0.1
    /// Warm-up steps.
    public var warmup = 40
    public var weightDecay: Float = 0.1
    public var beta1: Float = 0.9
    public var beta2: Float = 0.95
    /// Global gradient-norm limit (≤ 0 disables clipping).
    public var gradClip: Float = 1.0
    public var seed: UInt64 = 1337
    /// Training text; nil means the built-in corpus.
    public var data: String?
    /// Validate every N steps (0: only at the end).
    public var evalEvery = 250
    /// Validation batches per evaluation.
    public var evalBatches = 4
    /// Print a progress line every N steps.
    public var logEvery = 10
    /// Checkpoint directory; nil means no checkpoint.
    public var checkpoint: String?
    /// Save every N steps as well as at the end (0: only at the end).
    public var checkpointEvery = 0
    /// Kernel threads of a one-rank run (0: all cores).
    public var threads = 0
    /// Data-parallel ranks (each reads batch/dp sequences of the global batch).
    public var dp = 1
    /// Tensor-parallel ranks (heads, MLP units and vocabulary split across them).
    public var tp = 1
    /// Sequence parallelism inside the tensor-parallel group (needs tp > 1 to matter).
    public var sp = false
    /// Data-parallel gradient bucket size in MiB (gradients are all-reduced a bucket at a time).
    public var bucketMB: Float = 25
    /// Pipeline ranks (layers split into stages; micro-batches are the pipeline's).
    public var pp = 1
    /// Pipeline schedule: naive, gpipe, 1f1b, interleaved, zb-h1.
    public var schedule = "1f1b"
    /// Virtual stages per pipeline rank (interleaved).
    public var ppChunks = 1
    /// Layers of each virtual stage, e.g. "3,3,2" (nil: balanced by cost).
    public var ppLayers: String?
    /// Precision of matrix products (fp32, or bf16 inputs with float32 accumulation).
    public var precision = Precision.fp32
    /// Write the last step's pipeline timeline (every action's start and end) to this file.
    public var trace: String?

    public init() {}

    /// A config value as read from a file or the command line.
    public enum Value: Equatable, Sendable, Decodable {
        case int(Int), float(Double), string(String), bool(Bool)

        public init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let b = try? c.decode(Bool.self) { self = .bool(b) }
            else if let i = try? c.decode(Int.self) { self = .int(i) }
            else if let d = try? c.decode(Double.self) { self = .float(d) }
            else { self = .string(try c.decode(String.self)) }
        }

        var asInt: Int? {
            switch self {
            case .int(let i): return i
            case .float(let f) where f == f.rounded(): return Int(f)
            default: return nil
            }
        }
        var asFloat: Float? {
            switch self {
            case .int(let i): return Float(i)
            case .float(let f): return Float(f)
            default: return nil
            }
        }
    }

    typealias Setter = @Sendable (inout TrainConfig, Value) -> Bool

    static func int(_ kp: WritableKeyPath<TrainConfig, Int> & Sendable) -> Setter {
        { c, v in guard let i = v.asInt else { return false }; c[keyPath: kp] = i; return true }
    }
    static func float(_ kp: WritableKeyPath<TrainConfig, Float> & Sendable) -> Setter {
        { c, v in guard let f = v.asFloat else { return false }; c[keyPath: kp] = f; return true }
    }
    static func bool(_ kp: WritableKeyPath<TrainConfig, Bool> & Sendable) -> Setter {
        { c, v in guard case .bool(let b) = v else { return false }; c[keyPath: kp] = b; return true }
    }
    static func path(_ kp: WritableKeyPath<TrainConfig, String?> & Sendable) -> Setter {
        { c, v in guard case .string(let s) = v else { return false }; c[keyPath: kp] = s; return true }
    }

    /// Every key a config file or flag may set, with what kind of value it takes.
    static let keys: [(key: String, kind: String, set: Setter)] = [
        ("vocab", "integer", int(\.model.vocab)),
        ("seq-len", "integer", int(\.model.seqLen)),
        ("layers", "integer", int(\.model.layers)),
        ("d-model", "integer", int(\.model.dModel)),
        ("heads", "integer", int(\.model.heads)),
        ("dropout", "number", float(\.model.dropout)),
        ("steps", "integer", int(\.steps)),
        ("batch", "integer", int(\.batch)),
        ("micro-batches", "integer", int(\.microBatches)),
        ("lr", "number", float(\.lr)),
        ("min-lr-ratio", "number", float(\.minLRRatio)),
        ("warmup", "integer", int(\.warmup)),
        ("weight-decay", "number", float(\.weightDecay)),
        ("beta1", "number", float(\.beta1)),
        ("beta2", "number", float(\.beta2)),
        ("grad-clip", "number", float(\.gradClip)),
        ("seed", "integer", { c, v in
            guard let i = v.asInt, i >= 0 else { return false }; c.seed = UInt64(i); return true }),
        ("data", "path", path(\.data)),
        ("eval-every", "integer", int(\.evalEvery)),
        ("eval-batches", "integer", int(\.evalBatches)),
        ("log-every", "integer", int(\.logEvery)),
        ("checkpoint", "path", path(\.checkpoint)),
        ("checkpoint-every", "integer", int(\.checkpointEvery)),
        ("threads", "integer", int(\.threads)),
        ("dp", "integer", int(\.dp)),
        ("tp", "integer", int(\.tp)),
        ("sp", "boolean", bool(\.sp)),
        ("bucket-mb", "number", float(\.bucketMB)),
        ("pp", "integer", int(\.pp)),
        ("schedule", "name", { c, v in guard case .string(let s) = v else { return false }; c.schedule = s; return true }),
        ("pp-chunks", "integer", int(\.ppChunks)),
        ("pp-layers", "list", path(\.ppLayers)),
        ("trace", "path", path(\.trace)),
        ("precision", "name (fp32 or bf16)", { c, v in
            guard case .string(let s) = v, let p = Precision(rawValue: s) else { return false }; c.precision = p; return true }),
    ]

    /// The keys accepted in config files, in documentation order.
    public static var validKeys: [String] { keys.map(\.key) }

    /// Sets `key` from `value`; unknown keys and ill-typed values are `ConfigError`s.
    public mutating func set(_ key: String, _ value: Value, source: String) throws {
        guard let entry = Self.keys.first(where: { $0.key == key }) else {
            throw ConfigError("unknown key '\(key)' in \(source); valid keys: \(Self.validKeys.joined(separator: ", "))")
        }
        if !entry.set(&self, value) {
            throw ConfigError("key '\(key)' in \(source) needs a \(entry.kind) (a non-negative integer for seed), got \(value)")
        }
    }

    /// Applies a config file (JSON object, or TOML `key = value` lines).
    public mutating func apply(file path: String) throws {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigError("config file '\(path)' does not exist or is not readable UTF-8 text")
        }
        let entries = path.hasSuffix(".json") ? try ConfigFile.parseJSON(text, path: path)
                                              : try ConfigFile.parseTOML(text, path: path)
        for (k, v) in entries { try set(k, v, source: "config file '\(path)'") }
    }

    /// Throws a `ConfigError` for the first invalid value, naming what is valid.
    public func validate() throws {
        try model.validate()
        func positive(_ name: String, _ v: Int) throws {
            if v <= 0 { throw ConfigError("\(name) must be a positive integer, got \(v)") }
        }
        func nonNegative(_ name: String, _ v: Int) throws {
            if v < 0 { throw ConfigError("\(name) must be zero or positive, got \(v)") }
        }
        try positive("steps", steps)
        try positive("batch", batch)
        try positive("micro-batches", microBatches)
        try positive("eval-batches", evalBatches)
        try positive("log-every", logEvery)
        try nonNegative("warmup", warmup)
        try nonNegative("eval-every", evalEvery)
        try nonNegative("checkpoint-every", checkpointEvery)
        try nonNegative("threads", threads)
        try validateLayout()
        if !(lr > 0 && lr.isFinite) { throw ConfigError("lr must be a positive number, got \(lr)") }
        if !(minLRRatio >= 0 && minLRRatio <= 1) { throw ConfigError("min-lr-ratio must be in [0, 1], got \(minLRRatio)") }
        if !(beta1 >= 0 && beta1 < 1) { throw ConfigError("beta1 must be in [0, 1), got \(beta1)") }
        if !(beta2 >= 0 && beta2 < 1) { throw ConfigError("beta2 must be in [0, 1), got \(beta2)") }
        if !(weightDecay >= 0) { throw ConfigError("weight-decay must be zero or positive, got \(weightDecay)") }
        if !(bucketMB > 0 && bucketMB.isFinite) { throw ConfigError("bucket-mb must be a positive number, got \(bucketMB)") }
    }

    /// Kernel threads of a one-rank run: `threads`, or every core when 0.
    public var kernelThreads: Int { threads == 0 ? ProcessInfo.processInfo.activeProcessorCount : threads }

    /// The same run on one rank: every layout dimension 1, no pipeline trace.
    public var oneRank: TrainConfig {
        var c = self
        c.dp = 1; c.tp = 1; c.sp = false; c.pp = 1; c.ppChunks = 1; c.ppLayers = nil; c.trace = nil
        return c
    }

    /// Ranks the layout needs: dp · pp · tp.
    public var worldSize: Int { dp * pp * tp }

    /// Throws unless the job's `ranks` (started by mpirun, or not) is the layout's dp · pp · tp.
    public func requireWorldSize(_ ranks: Int, underMPI: Bool) throws {
        guard ranks != worldSize else { return }
        throw ConfigError("layout \(layoutName) needs dp \(dp) × pp \(pp) × tp \(tp) = \(worldSize) ranks, but "
                          + (underMPI ? "mpirun started \(ranks); use mpirun -np \(worldSize)"
                                      : "the job has \(ranks); start \(worldSize) ranks")
                          + " or change --dp/--pp/--tp")
    }

    /// The layout in words, e.g. "dp2×tp2+sp" ("serial" for one rank).
    public var layoutName: String {
        var parts: [String] = []
        if dp > 1 { parts.append("dp\(dp)") }
        if pp > 1 { parts.append("pp\(pp)" + (ppChunks > 1 ? "v\(ppChunks)" : "") + "(\(schedule))") }
        if tp > 1 { parts.append("tp\(tp)") }
        let name = parts.isEmpty ? "serial" : parts.joined(separator: "×")
        return sp && tp > 1 ? name + "+sp" : name
    }

    /// The layout's constraints (Megatron's): tp divides heads and 4·d, tp
    /// divides the sequence under SP, dp × micro-batches divides the batch.
    func validateLayout() throws {
        func divisors(_ n: Int) -> [Int] { (1...max(1, n)).filter { n % $0 == 0 } }
        func list(_ xs: [Int]) -> String { xs.map(String.init).joined(separator: ", ") }
        if dp < 1 { throw ConfigError("dp must be at least 1, got \(dp)") }
        if pp < 1 { throw ConfigError("pp must be at least 1, got \(pp)") }
        if pp > 1 { _ = try PipelinePartition.stages(self) }
        else if ppChunks != 1 { throw ConfigError("pp-chunks \(ppChunks) needs pp > 1") }
        if tp < 1 { throw ConfigError("tp must be at least 1, got \(tp)") }
        let d = model.dModel
        if model.heads % tp != 0 || (4 * d) % tp != 0 {
            let what = model.heads % tp != 0 ? "heads \(model.heads)" : "4·d-model \(4 * d)"
            throw ConfigError("tp \(tp) does not divide \(what); valid tp for heads \(model.heads): "
                              + list(divisors(model.heads).filter { (4 * d) % $0 == 0 }))
        }
        if sp && tp > 1 && model.seqLen % tp != 0 {
            let near = [model.seqLen / tp * tp, (model.seqLen / tp + 1) * tp].filter { $0 > 0 }
            throw ConfigError("sequence parallelism needs seq-len divisible by tp: seq-len \(model.seqLen), tp \(tp); "
                              + "nearest valid seq-len: \(list(near)), or tp in \(list(divisors(model.seqLen).filter { model.heads % $0 == 0 }))")
        }
        let unit = dp * microBatches
        if batch % unit != 0 {
            let near = [batch / unit * unit, (batch / unit + 1) * unit].filter { $0 > 0 }
            throw ConfigError("batch \(batch) is not divisible by dp \(dp) × micro-batches \(microBatches) = \(unit); "
                              + "nearest valid batch: \(list(near)); with this batch, dp × micro-batches must divide "
                              + "\(batch): \(list(divisors(batch)))")
        }
    }
}
