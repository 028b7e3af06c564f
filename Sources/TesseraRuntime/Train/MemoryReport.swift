import Foundation
import TesseraKernels
import TesseraCost

extension Trainer {
    /// What this rank holds, measured from its buffers: float32 weights
    /// (the buckets' values, or their shards at ZeRO-3) with the bf16
    /// working copies, gradients (the buckets' gradients, or their reduced
    /// shards from ZeRO-2), AdamW's moments (shards from ZeRO-1), padding
    /// included; the peaks of what ZeRO holds for a while (gathered values,
    /// unreduced gradients) since the last `store.transient.resetPeaks()`;
    /// and the activations the last micro-batch (or the pipeline, at its
    /// peak) saved for backward.
    public var memoryHeld: MemoryBreakdown {
        let buckets = store.buckets, peaks = store.transient.peaks
        let working = stages.flatMap(\.workingWeights).reduce(0) { $0 + $1.bytes }
        return MemoryBreakdown(
            weights: Double(buckets.reduce(0) { $0 + ($1.valueShard?.byteCount ?? 4 * $1.count) } + working),
            gradients: Double(buckets.reduce(0) { $0 + ($1.gradShard?.byteCount ?? 4 * $1.count) }),
            adam: Double(optimizer.bytes),
            activations: Double(pipeline?.peakActivationBytes ?? model.lastActivationBytes),
            gathered: Double(peaks.values), unreduced: Double(peaks.grads))
    }

    /// The per-rank lines of the whole job (collective): `memoryHeld` of every rank.
    /// With experts each line ends with the rank's dense and expert parameters.
    public func memoryReport() throws -> [String] {
        let split = config.model.hasExperts ? try parameterSplit() : nil
        return try memoryBreakdowns().enumerated().map { r, held in
            let c = groups.topology.coordinates(of: r)
            let params = split.map { String(format: "; parameters: dense %.2f M, experts %.2f M", $0[2 * r], $0[2 * r + 1]) }
            return "rank \(r) (dp \(c[.dp]!), pp \(c[.pp]!), cp \(c[.cp]!), tp \(c[.tp]!)"
                + (groups.ep.size > 1 ? ", ep \(groups.topology.expertRank(of: r))" : "") + "): \(held.line)"
                + (params ?? "")
        }
    }

    /// Every rank's dense and expert parameter counts in millions, [dense₀, experts₀, dense₁, …] (collective).
    func parameterSplit() throws -> [Double] {
        let expert = parameters.filter(\.placement.isExpert).reduce(0) { $0 + $1.value.count }
        let dense = parameters.reduce(0) { $0 + $1.value.count } - expert
        return try groups.world.allGather([dense, expert]).map { Double($0) / 1e6 }
    }

    /// Every rank's `memoryHeld`, by world rank (collective).
    func memoryBreakdowns() throws -> [MemoryBreakdown] {
        let m = memoryHeld
        let mine = [m.weights, m.gradients, m.adam, m.activations, m.gathered, m.unreduced].map { Int($0) }
        let all = try groups.world.allGather(mine)
        return (0..<groups.world.size).map { r in
            let t = all[(6 * r)..<(6 * r + 6)].map(Double.init)
            return MemoryBreakdown(weights: t[0], gradients: t[1], adam: t[2], activations: t[3], gathered: t[4],
                                   unreduced: t[5])
        }
    }

    /// Every rank's total bytes, by world rank (collective).
    func memoryBytes() throws -> [Int] { try memoryBreakdowns().map { Int($0.total) } }
}
