import Foundation

/// Bytes one rank holds while training, by kind — the cost model shared by
/// the estimate made before launch (`MemoryEstimate`) and the report of what
/// a run measured (`Trainer.memoryReport`): float32 weights, gradients of
/// the same size, AdamW's two moments (twice the weights), and the
/// activations saved for backward.
public struct MemoryBreakdown: Sendable, Equatable {
    public var weights: Double, gradients: Double, adam: Double, activations: Double

    /// The breakdown for `weightBytes` of local parameters and `activationBytes` saved for backward.
    public init(weightBytes: Double, activationBytes: Double) {
        weights = weightBytes; gradients = weightBytes; adam = 2 * weightBytes; activations = activationBytes
    }

    public var total: Double { weights + gradients + adam + activations }

    /// The terms by name, in report order.
    public var terms: [(name: String, bytes: Double)] {
        [("weights", weights), ("grads", gradients), ("adam", adam), ("activations", activations)]
    }

    /// The largest term.
    public var largest: (name: String, bytes: Double) { terms.max { $0.bytes < $1.bytes }! }

    /// "weights 1.00 MiB, grads …, total …".
    public var line: String {
        (terms + [("total", total)]).map { "\($0.name) \(Self.format($0.bytes))" }.joined(separator: ", ")
    }

    /// Bytes in MiB, GiB or TiB, whichever reads best.
    public static func format(_ bytes: Double) -> String {
        let units = ["MiB", "GiB", "TiB", "PiB", "EiB"]
        var v = bytes / 1_048_576, i = 0
        while v >= 1024 && i < units.count - 1 { v /= 1024; i += 1 }
        return v >= 1e6 ? String(format: "%.3g %@", v, units[i]) : String(format: "%.2f %@", v, units[i])
    }
}
