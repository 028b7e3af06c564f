import TesseraKernels
import TesseraComm
import TesseraTopology
import TesseraModel

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
///    An expert's parameters (`Placement.replicatedOver` = `.expertData`) sum over the
///    expert-data-parallel group instead (the ranks holding that expert):
///    each copy already holds the gradient of every token its expert-parallel
///    group routed to it, scaled by 1/(global tokens), so this sum is the
///    one-rank gradient too. (Megatron and DeepSpeed average per-rank mean
///    losses, so they divide the expert gradient by the whole dp size; the
///    global-token scale does that division here.)
///
/// Under ZeRO (stage ≥ 1) the data-parallel step is a reduce-scatter
/// instead: each rank receives the sum of its own shard only (in place in
/// the gradient buffer at stage 1; into `gradShard` from stage 2, after
/// which the full gradient buffer is released). On the thread backend a
/// reduce-scatter sums each element over the ranks in the same order as the
/// all-reduce does, so ZeRO's gradients are bitwise plain DP's.
///
/// Buckets follow DDP's bucket_cap_mb (see `ParameterStore`). With
/// `overlap`, a bucket summed over one group starts its all-reduce (or
/// reduce-scatter) as soon as the last of its parameters reports its
/// gradient complete during the step's last backward (DDP's gradient-ready
/// hook, through `BackwardContext.gradientReady`); `finish` waits for those
/// and runs the rest. From ZeRO-2, starting a bucket's reduce-scatter
/// first completes the one started before it and frees that bucket's full
/// gradient, so at most two unreduced buckets outlive their backward. Every
/// rank of a group starts its buckets in the same order, because every rank
/// runs the same backward.
public final class GradientSync: @unchecked Sendable {
    /// One bucket's sync: all-reduces over `allReduce` in order, then (ZeRO) a reduce-scatter over `scatter`.
    public struct Entry {
        public let bucket: ParameterBucket
        public let allReduce: [ProcessGroup]
        public let scatter: ProcessGroup?
    }
    /// Each bucket with the groups its gradient buffer is summed over.
    public let plan: [Entry]
    /// Whether single-group buckets start during backward (on by default).
    public var overlap = true
    /// Buckets started during the last step's backward.
    public private(set) var startedDuringBackward = 0
    private let entry: [ObjectIdentifier: Int]
    private var remaining: [Int] = [], requests: [CollectiveRequest?] = []
    /// ZeRO-2/3: the bucket whose reduce-scatter was started last and is not yet released.
    private var unreleased: Int?
    private var hookFailure: Error?

    public init(store: ParameterStore, groups: RankGroups) {
        func group(_ d: MeshDim) -> ProcessGroup {
            switch d {
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
        let sharded = store.zero.shardsOptimizer
        plan = store.buckets.map { b in
            // The data-parallel sum runs over the replicas that hold this parameter (dp × cp, or for an
            // expert the ranks holding the same expert): the group its placement names.
            func sum(_ d: MeshDim) -> ProcessGroup { d == .dp ? groups.group(b.key.replicatedOver) : group(d) }
            var dims = b.key.partialSum
            let scatter = sharded && dims.last == .dp ? sum(dims.removeLast()) : nil
            let over = (b.key.tie.map { [tieGroup($0)] } ?? []) + dims.map(sum)
            return Entry(bucket: b, allReduce: over.filter { $0.size > 1 }, scatter: scatter)
        }.filter { !$0.allReduce.isEmpty || $0.scatter != nil }
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
        unreleased = nil
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
            guard remaining[i] == 0 else { continue }
            let e = plan[i], bucket = e.bucket
            switch (e.allReduce.count, e.scatter) {
            case (0, let scatter?):
                requests[i] = try scatter.startReduceScatter(bucket.grads.floats, total: bucket.count,
                                                             into: shardDestination(bucket), op: .sum)
                if bucket.zero.shardsGradients {
                    if let previous = unreleased { try complete(previous) }
                    unreleased = i
                }
            case (1, nil):
                requests[i] = try e.allReduce[0].startAllReduce(bucket.grads.floats, count: bucket.count, op: .sum)
            default: continue
            }
            startedDuringBackward += 1
        }
    }

    /// Where a bucket's reduced shard goes: `gradShard`, or (stage 1) its place in the gradient buffer.
    private func shardDestination(_ b: ParameterBucket) -> UnsafeMutablePointer<Float> {
        b.gradShard?.floats ?? b.grads.floats + b.owned.lowerBound
    }

    /// Waits for plan entry `i`'s started collective and frees its full gradient (ZeRO-2/3).
    private func complete(_ i: Int) throws {
        try requests[i]?.wait()
        plan[i].bucket.releaseGradients()
    }

    /// Waits for the buckets started during backward and sums the others
    /// over their groups, in plan order, in place.
    public func finish() throws {
        if let hookFailure { throw hookFailure }
        for (i, e) in plan.enumerated() {
            if requests[i] != nil {
                try complete(i)
                continue
            }
            let bucket = e.bucket
            bucket.attachGradients()  // ZeRO-2/3: a bucket no backward touched has a zero gradient
            for g in e.allReduce { try g.allReduce(bucket.grads.floats, count: bucket.count, op: .sum) }
            if let scatter = e.scatter {
                try scatter.reduceScatter(bucket.grads.floats, total: bucket.count, into: shardDestination(bucket),
                                          op: .sum)
                bucket.releaseGradients()
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
