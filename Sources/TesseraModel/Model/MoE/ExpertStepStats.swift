import Foundation
import TesseraKernels
import TesseraComm
import TesseraTopology

/// What every mixture-of-experts block's routing did in one training step,
/// summed over all ranks: the figures of the progress line and of `--moe-stats`.
public struct ExpertStepStats: Sendable {
    /// Global block index and choices routed to each expert, before dropping [E], of each MoE block.
    public var routed: [(layer: Int, counts: [Double])]
    /// Load-balancing loss (mean over samples) and z-loss (mean over tokens), each the mean over MoE blocks.
    public var loadBalancingLoss: Double, zLoss: Double
    /// Dropped choices over all choices.
    public var droppedFraction: Double

    /// The busiest expert's load over the mean load, per block.
    public var maxOverMean: [Double] {
        routed.map { _, c in
            let mean = c.reduce(0, +) / Double(max(c.count, 1))
            return mean > 0 ? c.max()! / mean : 0
        }
    }

    /// " | aux … | z … | dropped …% | load max/mean …" for the progress line (the worst block's load).
    public var progressSuffix: String {
        String(format: " | aux %.4f | z %.4f | dropped %.1f%% | load max/mean %.2f", loadBalancingLoss, zLoss,
               100 * droppedFraction, maxOverMean.max() ?? 0)
    }

    /// Sums `stages`' block statistics over `world` (collective), for a
    /// step of `samples` sequences of `positions` tokens, and resets them.
    /// Tensor-parallel ranks route identically: only tp rank 0 contributes.
    package static func gather(_ stages: [GPT], config: GPTConfig, world: ProcessGroup, tpRank: Int, samples: Int,
                       positions: Int) throws -> ExpertStepStats {
        let layers = (0..<config.layers).filter(config.isExpertLayer), width = config.experts + 4
        var flat = [Float](repeating: 0, count: layers.count * width)
        for moe in stages.flatMap(\.mixtures) {
            if tpRank == 0, let slot = layers.firstIndex(of: moe.layer) {
                for (i, v) in moe.statistics.flat.enumerated() { flat[slot * width + i] = Float(v) }
            }
            moe.statistics.reset()
        }
        try flat.withUnsafeMutableBufferPointer { try world.allReduce($0.baseAddress!, count: $0.count, op: .sum) }
        var stats = ExpertStepStats(routed: [], loadBalancingLoss: 0, zLoss: 0, droppedFraction: 0)
        var dropped = 0.0, choices = 0.0
        for (slot, layer) in layers.enumerated() {
            let row = flat[(slot * width)..<((slot + 1) * width)].map(Double.init)
            stats.routed.append((layer, Array(row[0..<config.experts])))
            dropped += row[config.experts]; choices += row[config.experts + 1]
            stats.loadBalancingLoss += row[config.experts + 2] / Double(samples) / Double(layers.count)
            stats.zLoss += row[config.experts + 3] / Double(samples * positions) / Double(layers.count)
        }
        stats.droppedFraction = choices > 0 ? dropped / choices : 0
        return stats
    }
}
