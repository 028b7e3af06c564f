import TesseraKernels
import TesseraComm
import TesseraTopology
import TesseraModel

/// ZeRO-3 (FSDP) under a pipeline: the unit of residency is a whole virtual
/// stage (the blocks of a chunk, with the embeddings or the final LayerNorm
/// and head it holds), told by the `PipelineExecutor` around each compute
/// action of the schedule:
///
/// - Before an F or B action on chunk s, s's values are all-gathered over
///   each bucket's shard group (`ZeROGroups`: dp × cp, or the
///   expert-data-parallel group for an expert's bucket); the gather of the
///   next F or B action's chunk in this rank's list is started at once, so
///   it runs while s computes. After the action s's values are freed (with
///   their bf16 working copies), unless the next F or B action uses s again
///   (then they are kept, not freed and gathered again). So a chunk is
///   gathered once per run of consecutive actions on it: once per step
///   under 1F1B or zero-bubble with one chunk per rank (every action is on
///   it), at every switch between chunks under the interleaved schedule
///   (at most two chunks held at once: the one computing and the next).
///   Gathering per stage unit instead of per block and micro-batch is what
///   makes ZeRO-3 compose with a pipeline: per block, every micro-batch's
///   F and B would gather every block again (2·m gathers per block).
/// - A B or W action attaches the chunk's full gradient buffers (zeroed,
///   once per step); `GradientSync` reduce-scatters and frees them after the
///   pipeline's flush, as at stage 2. Zero-bubble's W computes dW = dYᵀ·X from
///   its saved activations and output gradient, never reading the weights,
///   so it needs the gradients attached but no gather.
///
/// The stage modules' own per-block residency (`GPT.residency`) stays nil.
/// Every rank of a shard group runs the same action list, so the gathers
/// start in the same order on each.
public final class ZeROStageResidency: PipelineResidency, @unchecked Sendable {
    /// The groups each bucket is sharded over.
    let groups: ZeROGroups
    /// Each virtual stage's buckets.
    let units: [Int: [ParameterBucket]]
    /// Each virtual stage's working copies (bf16 weights).
    let working: [Int: [WorkingWeight]]
    /// Whether the next chunk's gather starts while the current one computes.
    public var prefetch = true
    /// Gathers of a whole chunk started since the last `resetCounts` (tests and benchmarks read it).
    public private(set) var gathers = 0
    private var inFlight: [Int: [CollectiveRequest]] = [:]
    private var kept = Set<Int>()

    /// Attaches to this rank's stage modules by virtual stage, whose parameters `store` holds.
    public init(stages: [Int: GPT], store: ParameterStore, groups: ZeROGroups) {
        precondition(store.zero.shardsParameters, "ZeROStageResidency needs ZeRO stage 3")
        self.groups = groups
        units = stages.mapValues { store.buckets(of: [$0.parameters])[0] }
        working = stages.mapValues(\.workingWeights)
    }

    public func willRun(_ action: PipelineAction, next: Int?) throws {
        let s = action.stage
        if action.kind != .weight {
            try gather(s)
            if prefetch, let next { try startGather(next, keep: true) }
        }
        if action.kind != .forward { for b in units[s]! { b.attachGradients() } }
    }

    public func didRun(_ action: PipelineAction) throws {
        let s = action.stage
        guard action.kind != .weight, kept.remove(s) == nil else { return }
        for b in units[s]! { b.releaseValues() }
        for w in working[s]! { w.drop() }
    }

    /// Starts gathering chunk `s` unless it is in flight; one already gathered is kept past its current use when `keep`.
    private func startGather(_ s: Int, keep: Bool) throws {
        guard inFlight[s] == nil else { return }
        if units[s]!.allSatisfy(\.hasValues) {
            if keep { kept.insert(s) }
            return
        }
        gathers += 1
        inFlight[s] = try units[s]!.compactMap { b in
            guard let full = b.attachValues() else { return nil }
            return try groups.group(of: b).startAllGather(b.valueShard!.floats, count: b.owned.count, into: full.floats)
        }
    }

    /// Returns once chunk `s`'s values are gathered.
    private func gather(_ s: Int) throws {
        try startGather(s, keep: false)
        for r in inFlight.removeValue(forKey: s) ?? [] { try r.wait() }
    }

    /// Forgets the gather count.
    public func resetCounts() { gathers = 0 }

    /// Whether nothing beyond the shards is held: no chunk gathered or in
    /// flight and no full gradient attached (true between steps).
    public var isIdle: Bool {
        inFlight.isEmpty && kept.isEmpty
            && units.values.joined().allSatisfy { !$0.hasGradients && !$0.hasValues }
    }
}
