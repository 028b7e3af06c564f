import Synchronization

/// What a ZeRO stage (Rajbhandari et al. 2020) shards over the ranks
/// holding the same parameters (dp × cp, `ZeROGroups`), and which shard this
/// rank holds: stage 1 the AdamW states, stage 2 also the gradients, stage 3
/// also the parameters. Stage 0 is plain data parallelism (every rank holds
/// everything).
///
/// Every bucket of the `ParameterStore` is cut into `ranks` equal shards
/// (`ParameterBucket.shard`); the rank of index r in the bucket's shard
/// group owns shard r of every bucket.
public struct ZeRO: Sendable, Equatable {
    /// The stage, 0...3.
    public var stage: Int
    /// This rank's shard index (its rank in the shard group) and the shard count (dp · cp, or the expert-data size).
    public var rank: Int, ranks: Int

    public init(stage: Int, rank: Int = 0, ranks: Int = 1) {
        precondition((0...3).contains(stage) && (0..<max(ranks, 1)).contains(rank), "ZeRO stage \(stage) rank \(rank)/\(ranks)")
        self.stage = stage; self.rank = rank; self.ranks = ranks
    }

    /// Plain data parallelism.
    public static let none = ZeRO(stage: 0)

    /// Stage ≥ 1: each rank keeps AdamW's moments of its shard only.
    public var shardsOptimizer: Bool { stage >= 1 }
    /// Stage ≥ 2: each rank keeps the reduced gradient of its shard only.
    public var shardsGradients: Bool { stage >= 2 }
    /// Stage 3: each rank keeps the values of its shard only.
    public var shardsParameters: Bool { stage >= 3 }
}

/// Bytes of full bucket buffers attached for a while (ZeRO-3 gathered
/// values, ZeRO-2/3 unreduced gradients): now and at their peak, which the
/// memory report adds to the persistent buffers.
public final class TransientBytes: @unchecked Sendable {
    private let state = Mutex<(values: Int, grads: Int, peakValues: Int, peakGrads: Int)>((0, 0, 0, 0))

    public init() {}

    package func add(values: Int = 0, grads: Int = 0) {
        state.withLock { s in
            s.values += values; s.grads += grads
            s.peakValues = max(s.peakValues, s.values); s.peakGrads = max(s.peakGrads, s.grads)
        }
    }

    /// Largest bytes of gathered values and of full gradients attached at once since `resetPeaks`.
    public var peaks: (values: Int, grads: Int) { state.withLock { ($0.peakValues, $0.peakGrads) } }

    /// Starts the peaks again from what is attached now.
    public func resetPeaks() { state.withLock { $0.peakValues = $0.values; $0.peakGrads = $0.grads } }
}
