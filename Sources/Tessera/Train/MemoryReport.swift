import Foundation

extension Trainer {
    /// Bytes this rank holds, and the per-rank lines of the whole job
    /// (collective): weights, gradients and AdamW moments of the local
    /// shards, and the activations the last micro-batch saved for backward.
    public func memoryReport() throws -> [String] {
        let weights = parameters.reduce(0) { $0 + $1.value.byteCount }
        let mine = [weights, weights, 2 * weights, pipeline?.peakActivationBytes ?? model.lastActivationBytes]
        let all = try groups.world.allGather(mine)
        func mib(_ b: Int) -> String { String(format: "%.2f MiB", Double(b) / 1_048_576) }
        return (0..<groups.world.size).map { r in
            let c = groups.mesh.coordinates(of: r), v = Array(all[(4 * r)..<(4 * r + 4)])
            return "rank \(r) (dp \(c[.dp]!), pp \(c[.pp]!), tp \(c[.tp]!)): weights \(mib(v[0])), grads \(mib(v[1])), "
                + "adam \(mib(v[2])), activations \(mib(v[3])), total \(mib(v.reduce(0, +)))"
        }
    }
}
