import Foundation
import TesseraSupport

/// One logged step of a run, as a line of the metrics log (`--metrics FILE`)
/// and as `tessera plot` reads it. Absent figures are left out of the line.
public struct StepMetrics: Codable, Sendable, Equatable {
    public var step: Int
    public var loss: Double
    /// Validation loss, on steps that validated.
    public var val_loss: Double?
    public var lr: Double
    public var grad_norm: Double
    public var step_seconds: Double
    public var tokens_per_s: Double
    public var gflops: Double
    /// Achieved GFLOP/s over the matrix-product peak the ranks reach together on their cores (`ComputePeak`).
    public var mfu: Double?
    public var elapsed_s: Double
    /// Bytes each rank holds (weights, gradients, Adam moments, activations), by world rank.
    public var memory_bytes: [Int]?
    /// When traced: rank 0's seconds of the step blocked in communication, and bytes it moved.
    public var comm_exposed_s: Double?
    public var comm_bytes: Int?
    /// With experts: the load-balancing and z losses, the dropped share of the choices and the busiest
    /// expert's load over the mean (`ExpertStepStats`).
    public var moe_aux_loss: Double?, moe_z_loss: Double?, moe_dropped: Double?, moe_max_over_mean: Double?

    public init(step: Int, loss: Double, val_loss: Double? = nil, lr: Double, grad_norm: Double, step_seconds: Double,
                tokens_per_s: Double, gflops: Double, mfu: Double? = nil, elapsed_s: Double, memory_bytes: [Int]? = nil,
                comm_exposed_s: Double? = nil, comm_bytes: Int? = nil) {
        self.step = step; self.loss = loss; self.val_loss = val_loss; self.lr = lr; self.grad_norm = grad_norm
        self.step_seconds = step_seconds; self.tokens_per_s = tokens_per_s; self.gflops = gflops; self.mfu = mfu
        self.elapsed_s = elapsed_s; self.memory_bytes = memory_bytes; self.comm_exposed_s = comm_exposed_s
        self.comm_bytes = comm_bytes
    }
}

/// The metrics log: one JSON object per line, each written with a single
/// `write` as its step is logged (`GrowingFile`): an earlier metrics log at
/// the path is replaced when the run publishes (at each checkpoint and at the
/// end), never before, and the file always ends at a whole line.
public final class MetricsLog {
    private let file: GrowingFile
    public var path: String { file.path }
    /// Why lines stopped being written (a full disk), if they did.
    public var failure: String? { file.failure }

    /// Opens `path` for a new log (checked by `check` first).
    public init(path: String) throws {
        try Self.check(path)
        file = try GrowingFile(path: path)
    }

    /// Appends one line.
    public func write(_ m: StepMetrics) {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        guard let data = try? e.encode(m) else { return }
        file.append(String(decoding: data, as: UTF8.self) + "\n")
    }

    /// Makes the lines so far the file at `path` (see `GrowingFile.publish`).
    public func publish() { file.publish() }

    /// The path must be a new file in a writable directory, or an earlier metrics log.
    public static func check(_ path: String) throws {
        try OutputPreflight.checkOutputFile(path, what: "metrics log", example: "metrics.jsonl") { (try? read(path: $0)) != nil }
    }

    /// Every line of a metrics log; a line that is not one is a `ConfigError` naming the file and line.
    public static func read(path: String) throws -> [StepMetrics] {
        let data = try InputFile.contents(path, what: "metrics file", hint: "write one with --metrics FILE")
        var out: [StepMetrics] = []
        for (n, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() {
            guard let m = try? JSONDecoder().decode(StepMetrics.self, from: Data(line)) else {
                throw ConfigError("metrics file '\(path)' line \(n + 1) is not a step's metrics (a JSON object with step, loss, lr, ...)")
            }
            if let problem = m.implausibility(after: out.last) {
                throw ConfigError("metrics file '\(path)' line \(n + 1): \(problem)")
            }
            out.append(m)
        }
        return out
    }
}
