import TesseraKernels
import TesseraComm
import TesseraTopology
import TesseraModel

/// ZeRO-2 and ZeRO-3 (FSDP) around each unit of a stage module
/// (`GPT.units`: the blocks, and the embeddings/head unit):
///
/// - Stage 3: a unit's values are all-gathered over its shard group (`ZeROGroups`: dp, or the
///   expert-data-parallel group for an expert's buckets)
///   from the ranks' shards just before its forward and again before its
///   backward, and freed after each use (with the unit's bf16 working
///   copies). With `prefetch` on, the next unit's gather is started as the
///   current one begins, so it runs while the current unit computes
///   (forward order, then reverse in backward). A unit prefetched while it
///   is still in use is kept rather than freed and gathered again (the
///   embeddings/head unit from the end of forward to the start of backward).
/// - Stage 2 and 3: a unit's full gradient buffers are attached (zeroed)
///   before its first backward of the step; `GradientSync` reduce-scatters
///   and frees them.
public final class ZeROResidency: ParameterResidency, @unchecked Sendable {
    let zero: ZeRO
    /// The groups each bucket is sharded over.
    let groups: ZeROGroups
    /// The buckets of each unit.
    let units: [[ParameterBucket]]
    /// The working copies (bf16 weights) each unit's products read.
    let working: [[WorkingWeight]]
    /// Whether the next unit's gather starts while the current unit computes.
    public var prefetch = true
    private var inFlight: [Int: [CollectiveRequest]] = [:]
    private var kept = Set<Int>()

    /// Attaches to `model`'s stage (whose parameters `store` holds, cut by `model.units`).
    public init(model: GPT, store: ParameterStore, groups: ZeROGroups) {
        zero = store.zero
        self.groups = groups
        let units = model.units
        self.units = store.buckets(of: units)
        let weights = model.workingWeights
        working = units.map { unit in weights.filter { w in unit.contains { $0 === w.parameter } } }
        model.residency = self
    }

    public func willUse(_ unit: Int, backward: Bool, next: Int?) throws {
        if zero.shardsParameters {
            try gather(unit)
            if prefetch, let next { try startGather(next, keep: true) }
        }
        if backward && zero.shardsGradients { for b in units[unit] { b.attachGradients() } }
    }

    public func didUse(_ unit: Int, backward: Bool) throws {
        guard zero.shardsParameters, kept.remove(unit) == nil else { return }
        for b in units[unit] { b.releaseValues() }
        for w in working[unit] { w.drop() }
    }

    /// Starts gathering `unit`'s values unless they are in flight; one already
    /// gathered is kept past its current use when `keep`.
    private func startGather(_ unit: Int, keep: Bool) throws {
        guard inFlight[unit] == nil else { return }
        if units[unit].allSatisfy(\.hasValues) {
            if keep { kept.insert(unit) }
            return
        }
        inFlight[unit] = try units[unit].compactMap { b in
            guard let full = b.attachValues() else { return nil }
            return try groups.group(of: b).startAllGather(b.valueShard!.floats, count: b.owned.count, into: full.floats)
        }
    }

    /// Returns once `unit`'s values are gathered.
    private func gather(_ unit: Int) throws {
        try startGather(unit, keep: false)
        for r in inFlight.removeValue(forKey: unit) ?? [] { try r.wait() }
    }

    /// Whether nothing beyond the shards is held: no unit gathered or in
    /// flight (stage 3) and no full gradient attached (true between steps).
    public var isIdle: Bool {
        inFlight.isEmpty && kept.isEmpty
            && units.joined().allSatisfy { !$0.hasGradients && !(zero.shardsParameters && $0.hasValues) }
    }
}
