import TesseraKernels
import TesseraModel

/// The global gradient norm for clipping, each element of the model counted
/// once: of the copies several ranks hold, the primary one
/// (`Placement.isPrimary`: tp replicas and the tied embedding's second copy
/// do not count); of the ranks a bucket is sharded over (dp, or for an
/// expert's bucket the expert-data-parallel group, `ZeROGroups`), under
/// ZeRO each adds its own shard, without ZeRO every rank adds all shards
/// (they are identical).
///
/// The sum is taken per (primary bucket, shard) in Double and added in
/// bucket-then-shard order on every rank, whatever the stage, so plain data
/// parallelism and ZeRO 1, 2 and 3 compute bitwise the same norm from the
/// same gradients. Then summed over the model replica (pp × tp, × ep: each
/// expert's gradient lives on one expert-parallel rank, the dense ones count
/// on the first, `ModelReplica.counts`).
public enum GradientNorm {
    /// Σ‖g‖² of the whole model after the gradient sync (collective over the shard groups under ZeRO, and over `model`).
    public static func squared(_ store: ParameterStore, shards: ZeROGroups, model: ModelReplica) throws -> Double {
        // Every rank of a shard group computes its shard's partials (a dense bucket's shards lie on all dp ranks),
        // and the dense buckets count on the first expert-parallel rank only.
        let primary = store.buckets.filter(\.isPrimary)
        var partials = [[Double]](repeating: [], count: primary.count)  // per bucket, per shard
        if store.zero.shardsOptimizer {
            // Each rank has the reduced gradient of its shard only: exchange the exact Double partials,
            // dense buckets over dp, then expert buckets over the expert-data-parallel group.
            for expert in [false, true] {
                let indices = primary.indices.filter { primary[$0].key.isExpert == expert }
                guard let first = indices.first else { continue }
                let mine = indices.map { b in
                    Int(truncatingIfNeeded: Elementwise.sumOfSquares(primary[b].ownedGrads, n: primary[b].owned.count).bitPattern)
                }
                let all = try shards.group(of: primary[first]).allGather(mine)  // rank q's partial of bucket k at q·n + k
                for (k, b) in indices.enumerated() {
                    partials[b] = (0..<primary[b].shards).map { q in
                        Double(bitPattern: UInt64(truncatingIfNeeded: all[q * indices.count + k]))
                    }
                }
            }
        } else {
            for (b, bucket) in primary.enumerated() {
                partials[b] = (0..<bucket.shards).map { s in
                    let r = bucket.shard(s)
                    return Elementwise.sumOfSquares(bucket.grads.floats + r.lowerBound, n: r.count)
                }
            }
        }
        let counted = primary.indices.filter { primary[$0].key.isExpert || model.expertRank == 0 }
        return try model.group.sumAcrossRanks(counted.map { partials[$0] }.joined().reduce(0, +))
    }
}
