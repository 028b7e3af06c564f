import Foundation

/// Bytes one rank holds while training, by kind: the one breakdown of the
/// cost model, shared by the estimate made before launch (`MemoryEstimate`),
/// the planner (`MemoryModel`, `tessera plan`'s `memory_bytes`) and the
/// report of what a run measured (`Trainer.memoryReport`).
///
/// Weights as the products read them (Tessera's float32 weights with their
/// bf16 working copies; the planner's bf16 or fp32 weights), gradients,
/// AdamW's two moments, float32 master weights beside bf16 weights (the
/// planner's bf16 setups; Tessera counts its float32 values as weights),
/// the activations saved for backward, communication buffers (gathered
/// sequence-parallel inputs, pipeline send/receive buffers), and what ZeRO
/// holds for a while (`ZeROMemory`): the units' values gathered at stage 3
/// and the full gradients attached during backward at stages 2 and 3, both
/// at their peak.
public struct MemoryBreakdown: Sendable, Equatable, Encodable {
    public var weights: Double, gradients: Double, adam: Double, activations: Double
    /// float32 master weights beside bf16 weights (0 where the weights are the float32 values).
    public var master = 0.0
    /// Communication buffers other than ZeRO's: gathered SP inputs, pipeline send/receive buffers.
    public var buffers = 0.0
    /// ZeRO-3: peak bytes of units' values gathered at once; ZeRO-2/3: peak bytes of unreduced full gradients.
    public var gathered = 0.0, unreduced = 0.0

    /// Nothing held.
    public init() { weights = 0; gradients = 0; adam = 0; activations = 0 }

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

    public var total: Double { weights + gradients + adam + master + activations + buffers + gathered + unreduced }

    /// Weights, gradients and AdamW moments held for good, plus the gathered values (ZeRO's "model states").
    public var modelStates: Double { weights + gradients + adam + master + gathered }

    /// ZeRO's full buckets held for a while: gathered values and unreduced gradients.
    public var zeroBuckets: Double { gathered + unreduced }

    /// The terms by name, in report order (master, buffers and the ZeRO terms only when held).
    public var terms: [(name: String, bytes: Double)] {
        [("weights", weights), ("grads", gradients), ("adam", adam)] + (master > 0 ? [("master", master)] : [])
            + [("activations", activations)] + (buffers > 0 ? [("buffers", buffers)] : [])
            + (gathered > 0 ? [("gathered", gathered)] : []) + (unreduced > 0 ? [("unreduced grads", unreduced)] : [])
    }

    enum CodingKeys: String, CodingKey {
        case weights, gradients, optimizer, master, activations, buffers, zeroBuckets = "zero_buckets", total
    }

    /// `tessera plan --json`'s `memory_bytes`: whole bytes by term; `buffers` includes ZeRO's
    /// buckets, which `zero_buckets` also gives apart.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        for (key, v) in [(CodingKeys.weights, weights), (.gradients, gradients), (.optimizer, adam), (.master, master),
                         (.activations, activations), (.buffers, buffers + zeroBuckets), (.zeroBuckets, zeroBuckets),
                         (.total, total)] {
            try c.encode(v.rounded(), forKey: key)
        }
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
