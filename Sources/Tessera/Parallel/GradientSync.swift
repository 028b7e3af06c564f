/// Makes every rank's gradients those of the whole global batch, after the
/// micro-batches' backward passes and before clipping, by reading each
/// bucket's placement (`Placement.SyncKey`), in place on the bucket's flat
/// gradient buffer (no copy in or out):
///
/// 0. A tied parameter (wte on the first and the last pipeline stage) sums
///    its copies' gradients over its tie group (Megatron's embedding group).
/// 1. Then over each mesh dimension its gradient is a partial sum over, in
///    order: tp for parameters every tensor-parallel rank holds whole under
///    sequence parallelism (Megatron's allreduce_layernorm_grads), then dp.
///    The loss was scaled by 1/(global batch tokens), so the sum over dp
///    ranks is the average of their mean gradients: the one-rank gradient.
///
/// Buckets follow DDP's bucket_cap_mb (see `ParameterStore`): one
/// all-reduce per bucket and group.
public final class GradientSync: @unchecked Sendable {
    /// Each bucket with the groups its gradient buffer is all-reduced over, in order.
    public let plan: [(bucket: ParameterBucket, groups: [ProcessGroup])]

    public init(store: ParameterStore, groups: RankGroups) {
        func group(_ d: MeshDim) -> ProcessGroup {
            switch d {
            case .dp: groups.dp
            case .tp: groups.tp.group
            case .pp: groups.pp
            case .cp: preconditionFailure("no context-parallel group yet")
            }
        }
        func tieGroup(_ tie: Placement.TieGroup) -> ProcessGroup {
            switch tie {
            case .embedding: groups.embedding
            }
        }
        plan = store.buckets.map { b in
            let over = (b.key.tie.map { [tieGroup($0)] } ?? []) + b.key.partialSum.map(group)
            return (b, over.filter { $0.size > 1 })
        }.filter { !$0.groups.isEmpty }
    }

    /// Sums every bucket's gradients over its groups, in place.
    public func run() throws {
        for (bucket, groups) in plan {
            for g in groups { try g.allReduce(bucket.grads.floats, count: bucket.count, op: .sum) }
        }
    }
}
