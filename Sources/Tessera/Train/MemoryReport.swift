import Foundation

extension Trainer {
    /// Bytes this rank holds, and the per-rank lines of the whole job
    /// (collective): weights, gradients and AdamW moments of the local
    /// shards (the parameter store's buckets, padding included), and the
    /// activations the last micro-batch saved for backward (the terms of `MemoryBreakdown`).
    public func memoryReport() throws -> [String] {
        try memoryBreakdowns().enumerated().map { r, m in
            let c = groups.mesh.coordinates(of: r)
            return "rank \(r) (dp \(c[.dp]!), pp \(c[.pp]!), tp \(c[.tp]!)): \(m.line)"
        }
    }

    /// Every rank's breakdown, by world rank (collective).
    func memoryBreakdowns() throws -> [MemoryBreakdown] {
        let weights = store.bytesPerCopy
        let all = try groups.world.allGather([weights, pipeline?.peakActivationBytes ?? model.lastActivationBytes])
        return (0..<groups.world.size).map { r in
            MemoryBreakdown(weightBytes: Double(all[2 * r]), activationBytes: Double(all[2 * r + 1]))
        }
    }

    /// Every rank's total bytes, by world rank (collective).
    func memoryBytes() throws -> [Int] { try memoryBreakdowns().map { Int($0.total) } }
}
