import Foundation
import Synchronization
import TesseraKernels
import TesseraComm
import TesseraTopology

/// What `tessera verify` found: the one-rank run and a layout trained from
/// the same seed, step by step.
public struct EquivalenceReport: Sendable {
    /// The layout, e.g. "dp2×tp2+sp".
    public var layout: String
    /// Mean token loss of each step: one rank, and the layout.
    public var serialLosses: [Double], layoutLosses: [Double]
    /// Per parameter tensor after the last step: ‖layout − serial‖₂ / ‖serial‖₂
    /// (the criterion), and max|layout − serial| / max|serial| (the worst element).
    public var parameterDifferences: [(name: String, relative: Double, worstElement: Double)]
    public var lossTolerance: Double, parameterTolerance: Double

    /// |layout − serial| / |serial| of each step's loss.
    public var lossDifferences: [Double] {
        zip(serialLosses, layoutLosses).map { abs($1 - $0) / max(abs($0), .leastNormalMagnitude) }
    }
    public var worstLossDifference: Double { lossDifferences.max() ?? 0 }
    public var worstParameterDifference: Double { parameterDifferences.map(\.relative).max() ?? 0 }
    /// Every step's loss and every tensor within tolerance.
    public var passed: Bool {
        worstLossDifference <= lossTolerance && worstParameterDifference <= parameterTolerance
    }

    /// The printed report: a line per step, then per tensor, then the verdict.
    public var lines: [String] {
        var out = ["step | one rank loss | \(layout) loss | rel. diff"]
        for (i, ((a, b), d)) in zip(zip(serialLosses, layoutLosses), lossDifferences).enumerated() {
            out.append(String(format: "%4d | %.8f | %.8f | %.2e", i + 1, a, b, d))
        }
        out.append("parameter | ‖Δ‖₂/‖w‖₂ after step \(serialLosses.count) (the criterion) | max|Δ|/max|w| (shown only)")
        for (name, d, e) in parameterDifferences { out.append(String(format: "%@ | %.2e | %.2e", name, d, e)) }
        out.append(String(format: "%@: %@ — worst loss diff %.2e (tolerance %.0e), worst parameter diff %.2e (tolerance %.0e)",
                          layout, passed ? "EQUIVALENT" : "NOT EQUIVALENT", worstLossDifference, lossTolerance,
                          worstParameterDifference, parameterTolerance))
        return out
    }
}

/// Trains the one-rank model and a layout side by side from the same seed
/// (same initial weights, same data order, same dropout masks) and compares
/// every step's loss and every final parameter: the harness behind
/// `tessera verify` and the equivalence tests.
public enum Equivalence {
    /// Default tolerances: relative, per step loss and per parameter tensor.
    public static let lossTolerance = 1e-5, parameterTolerance = 1e-4

    /// The pass criteria in words, as `tessera verify` prints them in its
    /// header: each step's relative loss difference, and each parameter
    /// tensor's ‖layout − serial‖₂ / ‖serial‖₂ after the last step
    /// (`normDifference`), against `loss` and `parameter`.
    public static func criteria(loss: Double, parameter: Double) -> String {
        String(format: "passes when every step's |Δloss|/|loss| ≤ %.0e and every parameter tensor's ‖Δ‖₂/‖w‖₂ ≤ %.0e "
               + "after the last step", loss, parameter)
    }

    /// Default (loss, parameter) tolerances for runs whose products run at
    /// `precision`: float32's, or under bf16 1e-3 per step loss and 3e-2 per
    /// tensor. Why bf16 needs more: a layout sums in another order than one
    /// rank, so its float32 values differ by about δ ≈ 1e-7 relative; rounding
    /// to bf16 (ulp u = 2⁻⁸) turns that into a whole-ulp jump on a fraction
    /// δ/u of the elements. The expected error is unchanged, but its spread
    /// over a sum of N terms grows from δ·√N to √(N·δ·u), √(u/δ) ≈ 200×
    /// larger, and training amplifies it as it amplifies any difference.
    /// Measured on the verify table's layouts: ≤ 2.5e-4 per step loss and
    /// ≤ 1.07e-2 per tensor (the largest on biases, whose norms are small),
    /// against ≤ 7e-8 and ≤ 3e-6 in float32; the bf16 tolerances keep a 3×
    /// margin. The first step, from identical weights, agrees to ~1e-7.
    public static func tolerances(for precision: Precision) -> (loss: Double, parameter: Double) {
        switch precision {
        case .fp32: return (lossTolerance, parameterTolerance)
        case .bf16: return (1e-3, 3e-2)
        }
    }

    /// Runs `config.steps` steps serially and on `config`'s layout over
    /// `backend`; tolerances default to `tolerances(for: config.precision)`. Returns the report on the leader (world rank 0), nil on
    /// the other MPI processes.
    public static func run(config: TrainConfig, data: TokenDataset, backend: Launcher.Backend,
                           lossTolerance: Double? = nil, parameterTolerance: Double? = nil,
                           progress: @escaping @Sendable (String) -> Void = { _ in }) throws -> EquivalenceReport? {
        let defaults = tolerances(for: config.precision)
        if backend == .mpi { Compute.threads = 1 }
        CollectiveChecking.enabled = true  // a proof run checks every collective's agreement
        let result = Mutex<(losses: [Double], params: [String: [Float]])?>(nil)
        try Launcher.run(config: config, backend: backend, timeout: Double(config.timeout)) { groups in
            let trainer = try Trainer(config: config, data: data, groups: groups)
            let losses = try (0..<config.steps).map { k in
                defer { if groups.worldRank == 0 { progress("\(config.layoutName) step \(k + 1)/\(config.steps)") } }
                return try trainer.trainStep().loss
            }
            let whole = try trainer.wholeParameters()
            if groups.worldRank == 0 { result.withLock { $0 = (losses, whole) } }
        }
        guard let (losses, params) = result.withLock({ $0 }) else { return nil }
        // The serial run after the layout's, so Launcher.run has checked the sizes before anything is allocated.
        // Its kernels keep the thread count they start with, whatever else in the process sets meanwhile.
        let (serial, serialLosses) = try Compute.withThreads(Compute.threads) {
            let serial = try Trainer(config: config.oneRank, data: data)
            let losses = try (0..<config.steps).map { k in
                defer { progress("one rank step \(k + 1)/\(config.steps)") }
                return try serial.trainStep().loss
            }
            return (serial, losses)
        }
        let diffs = serial.parameters.map { p in
            let (a, b) = (params[p.name]!, p.value.array)
            return (name: p.name, relative: normDifference(a, b), worstElement: relativeDifference(a, b))
        }
        return EquivalenceReport(layout: config.layoutName, serialLosses: serialLosses, layoutLosses: losses,
                                 parameterDifferences: diffs, lossTolerance: lossTolerance ?? defaults.loss,
                                 parameterTolerance: parameterTolerance ?? defaults.parameter)
    }

    /// ‖a − b‖₂ / ‖b‖₂, the criterion per tensor. Why not the worst element:
    /// AdamW moves every weight by about ±lr whatever its gradient's size, so
    /// a weight whose gradient is rounding noise (e.g. the output weights of
    /// an MLP unit GELU has switched off for every token) takes steps whose
    /// sign depends on summation order; over 20 steps such single elements
    /// drift by ~1e-4 of the tensor's largest value in any float32 layout
    /// while the tensor as a whole agrees to ~1e-6. Both are printed.
    public static func normDifference(_ a: [Float], _ b: [Float]) -> Double {
        var diff = 0.0, norm = 0.0
        for (x, y) in zip(a, b) { diff += Double(x - y) * Double(x - y); norm += Double(y) * Double(y) }
        return norm > 0 ? (diff / norm).squareRoot() : diff.squareRoot()
    }

    /// max_i |a_i − b_i| / max_i |b_i|: the worst element relative to the
    /// tensor's scale (an element-wise ratio would blow up at values near zero).
    public static func relativeDifference(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count, "relativeDifference: sizes \(a.count) vs \(b.count)")
        var diff = 0.0, scale = 0.0
        for (x, y) in zip(a, b) { diff = max(diff, abs(Double(x) - Double(y))); scale = max(scale, abs(Double(y))) }
        return scale > 0 ? diff / scale : diff
    }

    /// The small, fast model `tessera verify` uses unless flags say otherwise:
    /// 2 layers, d 64, 4 heads, T 32, batch 8, dropout 0.1, 20 steps.
    public static var defaultConfig: TrainConfig {
        var c = TrainConfig()
        c.model = GPTConfig(vocab: 256, seqLen: 32, layers: 2, dModel: 64, heads: 4, dropout: 0.1)
        c.batch = 8
        c.steps = 20
        c.warmup = 2
        c.threads = 1
        return c
    }
}
