import Synchronization

/// What a ZeRO stage (Rajbhandari et al. 2020) shards over the
/// data-parallel group, and which shard this rank holds: stage 1 the AdamW
/// states, stage 2 also the gradients, stage 3 also the parameters. Stage 0
/// is plain data parallelism (every rank holds everything).
///
/// Every bucket of the `ParameterStore` is cut into `ranks` equal shards
/// (`ParameterBucket.shard`); the rank of data-parallel index r owns shard r
/// of every bucket.
public struct ZeRO: Sendable, Equatable {
    /// The stage, 0...3.
    public var stage: Int
    /// This rank's shard index (its data-parallel rank) and the shard count (dp).
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

    func add(values: Int = 0, grads: Int = 0) {
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

extension Layout {
    /// Throws unless the ZeRO stage can run on this layout: any stage needs
    /// dp > 1 (it shards over the data-parallel group; with one rank it would
    /// do nothing, so it is refused rather than silently ignored), and
    /// stage 3 does not compose with a pipeline (every micro-batch would
    /// gather every block's weights again, pp·m times per step; DeepSpeed
    /// refuses it too), while stages 1 and 2 do (Megatron's distributed
    /// optimizer: the reduce-scatter runs once, after the pipeline's flush).
    func validateZeRO() throws {
        guard zero > 0 else { return }
        if dp == 1 {
            throw ConfigError("zero \(zero) shards over the data-parallel group and needs dp > 1, got dp 1; "
                              + "add --dp N (N ≥ 2) or drop --zero")
        }
        if cp > 1 {
            throw ConfigError("zero \(zero) shards over the data-parallel group only; with cp \(cp) the gradients are "
                              + "partial sums over dp × cp, which ZeRO does not reduce yet; use zero 0 with cp, or cp 1")
        }
        if zero == 3 && pp > 1 {
            throw ConfigError("zero 3 gathers each block's weights around every micro-batch's forward and backward "
                              + "and does not compose with a pipeline (pp \(pp)); use zero 1 or 2 with pp, or pp 1")
        }
    }
}
