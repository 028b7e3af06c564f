import Foundation

/// Bytes one rank holds while training, by kind — the cost model shared by
/// the estimate made before launch (`MemoryEstimate`) and the report of what
/// a run measured (`Trainer.memoryReport`): float32 weights, gradients of
/// the same size, AdamW's two moments (twice the weights), and the
/// activations saved for backward. Under ZeRO (`ZeROMemory`) the first
/// three are this rank's shards, plus what is held only for a while: the
/// units' values gathered at stage 3 and the full gradients attached during
/// backward at stages 2 and 3 (both at their peak).
public struct MemoryBreakdown: Sendable, Equatable {
    public var weights: Double, gradients: Double, adam: Double, activations: Double
    /// ZeRO-3: peak bytes of units' values gathered at once; ZeRO-2/3: peak bytes of unreduced full gradients.
    public var gathered = 0.0, unreduced = 0.0

    /// The breakdown for `weightBytes` of local parameters and `activationBytes` saved for backward.
    public init(weightBytes: Double, activationBytes: Double) {
        weights = weightBytes; gradients = weightBytes; adam = 2 * weightBytes; activations = activationBytes
    }

    /// The breakdown of the given terms.
    public init(weights: Double, gradients: Double, adam: Double, activations: Double, gathered: Double = 0,
                unreduced: Double = 0) {
        self.weights = weights; self.gradients = gradients; self.adam = adam; self.activations = activations
        self.gathered = gathered; self.unreduced = unreduced
    }

    public var total: Double { weights + gradients + adam + activations + gathered + unreduced }

    /// Weights, gradients and AdamW moments held for good, plus the gathered values (ZeRO's "model states").
    public var modelStates: Double { weights + gradients + adam + gathered }

    /// The terms by name, in report order (the ZeRO terms only when held).
    public var terms: [(name: String, bytes: Double)] {
        [("weights", weights), ("grads", gradients), ("adam", adam), ("activations", activations)]
            + (gathered > 0 ? [("gathered", gathered)] : []) + (unreduced > 0 ? [("unreduced grads", unreduced)] : [])
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
