import Foundation
import TesseraSupport
import TesseraTopology

extension MemoryEstimate {
    /// Throws a `ConfigError` unless one rank's estimate fits in
    /// `config.memoryBudget` GiB (no check when 0), naming the estimate, its
    /// largest term and the layouts that would fit: this run's model and
    /// batch at dp, 2·dp, 4·dp and 8·dp ranks with ZeRO 0 to 3 (those `Topology.validate`
    /// accepts), fewest ranks and lowest stage first. Called by
    /// `Launcher.run` before any rank starts.
    public static func requireBudget(_ config: TrainConfig, ranksHere: Int) throws {
        guard config.memoryBudget > 0 else { return }
        let budget = Double(config.memoryBudget) * 1_073_741_824
        let estimate = MemoryEstimate(config, ranksHere: ranksHere).perRank
        guard estimate.total > budget else { return }
        let fmt = MemoryBreakdown.format, largest = estimate.largest
        var fits: [String] = []
        for dp in [1, 2, 4, 8].map({ $0 * config.dp }) {
            for stage in 0...3 {
                var c = config
                c.dp = dp; c.layout.zero = stage
                guard (try? c.validate()) != nil else { continue }
                let need = MemoryEstimate(c, ranksHere: c.worldSize).perRank.total
                if need <= budget { fits.append("\(c.layoutName) (\(fmt(need)) per rank, \(c.worldSize) ranks)") }
            }
        }
        let what = fits.isEmpty
            ? "no layout fits: none of dp \(config.dp)…\(8 * config.dp) with zero 0-3 does; lower --layers, --d-model, "
              + "--seq-len or the micro-batch (--batch, --micro-batches), or raise --tp/--pp"
            : "layouts that fit: " + fits.prefix(4).joined(separator: ", ")
        throw ConfigError("this run needs about \(fmt(estimate.total)) per rank (\(estimate.line)), over the memory "
                          + "budget of \(config.memoryBudget) GiB; largest term: \(largest.name) \(fmt(largest.bytes)); "
                          + what)
    }
}
