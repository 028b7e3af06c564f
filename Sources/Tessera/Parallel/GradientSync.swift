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
/// Buckets follow DDP's bucket_cap_mb (see `ParameterStore`). With
/// `overlap`, a bucket summed over one group starts its all-reduce as soon
/// as the last of its parameters reports its gradient complete during the
/// step's last backward (DDP's gradient-ready hook, through
/// `BackwardContext.gradientReady`); `finish` waits for those and runs the
/// rest. Every rank of a group starts its buckets in the same order, because
/// every rank runs the same backward.
public final class GradientSync: @unchecked Sendable {
    /// Each bucket with the groups its gradient buffer is all-reduced over, in order.
    public let plan: [(bucket: ParameterBucket, groups: [ProcessGroup])]
    /// Whether single-group buckets start during backward (on by default).
    public var overlap = true
    /// Buckets started during the last step's backward.
    public private(set) var startedDuringBackward = 0
    private let entry: [ObjectIdentifier: Int]
    private var remaining: [Int] = [], requests: [CollectiveRequest?] = []
    private var hookFailure: Error?

    public init(store: ParameterStore, groups: RankGroups) {
        func group(_ d: MeshDim) -> ProcessGroup {
            switch d {
            // Data-parallel partial sums span the context-parallel ranks too: each holds other tokens.
            case .dp: groups.dpcp
            case .tp: groups.tp.group
            case .pp: groups.pp
            case .cp: groups.cp.group
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
        var entry: [ObjectIdentifier: Int] = [:]
        for (i, e) in plan.enumerated() { for p in e.bucket.parameters { entry[ObjectIdentifier(p)] = i } }
        self.entry = entry
    }

    /// Starts a step: returns the gradient-ready hook for the step's last
    /// backward (nil when `overlap` is off or there is nothing to sync).
    public func beginStep() -> ((_ parameters: [Parameter]) -> Void)? {
        remaining = plan.map { $0.bucket.parameters.count }
        requests = Array(repeating: nil, count: plan.count)
        startedDuringBackward = 0
        hookFailure = nil
        guard overlap, !plan.isEmpty else { return nil }
        return { [unowned self] parameters in
            do { try ready(parameters) } catch { if hookFailure == nil { hookFailure = error } }
        }
    }

    /// Counts `parameters` complete; starts each bucket whose last parameter this was.
    func ready(_ parameters: [Parameter]) throws {
        for p in parameters {
            guard let i = entry[ObjectIdentifier(p)] else { continue }
            remaining[i] -= 1
            guard remaining[i] == 0, plan[i].groups.count == 1 else { continue }
            let bucket = plan[i].bucket
            requests[i] = try plan[i].groups[0].startAllReduce(bucket.grads.floats, count: bucket.count, op: .sum)
            startedDuringBackward += 1
        }
    }

    /// Waits for the buckets started during backward and sums the others
    /// over their groups, in plan order, in place.
    public func finish() throws {
        if let hookFailure { throw hookFailure }
        for (i, (bucket, groups)) in plan.enumerated() {
            if let request = requests[i] {
                try request.wait()
            } else {
                for g in groups { try g.allReduce(bucket.grads.floats, count: bucket.count, op: .sum) }
            }
        }
        requests = []
    }

    /// The whole sync after backward, without overlap.
    public func run() throws {
        _ = beginStep()
        try finish()
    }
}
