/// The global gradient norm for clipping, each element of the model counted
/// once: of the copies several ranks hold, the primary one
/// (`Placement.isPrimary`: tp replicas and the tied embedding's second copy
/// do not count); of the data-parallel ranks, under ZeRO each adds its own
/// shard, without ZeRO every rank adds all shards (they are identical).
///
/// The sum is taken per (primary bucket, shard) in Double and added in
/// bucket-then-shard order on every rank, whatever the stage, so plain data
/// parallelism and ZeRO 1, 2 and 3 compute bitwise the same norm from the
/// same gradients. Then summed over the model replica (pp × tp, × ep: each
/// expert's gradient lives on one expert-parallel rank, the dense ones count
/// on the first, `ModelReplica.counts`).
public enum GradientNorm {
    /// Σ‖g‖² of the whole model after the gradient sync (collective over `dp` under ZeRO, and over `model`).
    public static func squared(_ store: ParameterStore, dp: ProcessGroup, model: ModelReplica) throws -> Double {
        let primary = store.buckets.filter { $0.isPrimary && ($0.key.expert || model.expertRank == 0) }
        let shards = primary.first?.shards ?? 1
        var partials = [Double](repeating: 0, count: primary.count * shards)
        if store.zero.shardsOptimizer {
            // Each rank has the reduced gradient of its shard only: exchange the exact Double partials.
            let mine = primary.map { Int(truncatingIfNeeded: Elementwise.sumOfSquares($0.ownedGrads, n: $0.owned.count).bitPattern) }
            let all = try dp.allGather(mine)  // rank-major: rank q's partial of bucket b at q·buckets + b
            for q in 0..<shards {
                for b in primary.indices {
                    partials[b * shards + q] = Double(bitPattern: UInt64(truncatingIfNeeded: all[q * primary.count + b]))
                }
            }
        } else {
            for (b, bucket) in primary.enumerated() {
                for s in 0..<shards {
                    let r = bucket.shard(s)
                    partials[b * shards + s] = Elementwise.sumOfSquares(bucket.grads.floats + r.lowerBound, n: r.count)
                }
            }
        }
        return try model.group.sumAcrossRanks(partials.reduce(0, +))
    }
}
