import TesseraKernels
import TesseraTopology

/// Every parameter of one rank in flat buckets (see `ParameterBucket`): one
/// allocation per bucket for values, one for gradients, grouped by what the
/// gradient sync must do (`Placement.SyncKey`) and, within a group, in
/// reverse parameter order (the order backward produces gradients) up to
/// `bucketBytes` each (a larger parameter gets a bucket of its own). Given
/// `units` (ZeRO-2/3: the model's blocks and the rest), a bucket never
/// spans two units and a unit is one bucket per sync class, whatever its
/// size, so a unit's values are gathered and its gradients reduced whole.
///
/// Building the store moves each parameter's value and gradient into its
/// bucket; `Parameter.value` and `.grad` are views from then on.
public final class ParameterStore: @unchecked Sendable {
    /// The parameters, in the order given.
    public let parameters: [Parameter]
    /// The buckets, in the order the gradient sync runs them.
    public let buckets: [ParameterBucket]
    /// Bucket index and index within the bucket of each parameter, in `parameters` order.
    public let locations: [(bucket: Int, index: Int)]
    /// What ZeRO shards, and this rank's shard of the dense buckets.
    public let zero: ZeRO
    /// This rank's shard of the experts' buckets (sharded over the expert-data-parallel group; `zero` without one).
    public let expertZero: ZeRO
    /// Full buffers attached beyond the persistent ones (ZeRO-2/3), now and at their peak.
    public let transient = TransientBytes()

    /// Buckets `parameters` (capacities padded to 16 · `shards` elements;
    /// `zero.ranks` shards under ZeRO). Expert buckets (`Placement.replicatedOver` = `.expertData`)
    /// are cut into `expertZero.ranks` shards and this rank owns
    /// `expertZero.rank`'s, when given (ZeRO over the expert-data-parallel group).
    public init(parameters: [Parameter], bucketBytes: Int, shards: Int = 1, zero: ZeRO = .none,
                expertZero: ZeRO? = nil, units: [[Parameter]]? = nil) {
        precondition(shards >= 1, "ParameterStore: shards must be at least 1")
        precondition(zero.stage == 0 || zero.ranks == shards, "ParameterStore: ZeRO over \(zero.ranks) ranks, \(shards) shards")
        let expertZero = expertZero ?? zero, expertShards = expertZero == zero ? shards : expertZero.ranks
        precondition(expertZero.stage == zero.stage, "ParameterStore: expert buckets at ZeRO \(expertZero.stage), dense at \(zero.stage)")
        var groups: [[Parameter]] = []  // (unit, sync class) groups in backward order, each cut by size unless units
        for unit in (units ?? [parameters]).reversed() {
            var keys: [Placement.SyncKey] = [], byKey: [Placement.SyncKey: [Parameter]] = [:]
            for p in unit.reversed() {
                if byKey[p.placement.syncKey] == nil { keys.append(p.placement.syncKey) }
                byKey[p.placement.syncKey, default: []].append(p)
            }
            groups += keys.map { byKey[$0]! }
        }
        var buckets: [ParameterBucket] = []
        let transient = self.transient
        func add(_ ps: [Parameter]) {
            let expert = ps[0].placement.isExpert
            buckets.append(ParameterBucket(ps, key: ps[0].placement.syncKey, shards: expert ? expertShards : shards,
                                           zero: expert ? expertZero : zero, transient: transient))
        }
        for group in groups {
            var current: [Parameter] = [], bytes = 0
            for p in group {
                if units == nil && !current.isEmpty && bytes + p.value.byteCount > bucketBytes {
                    add(current)
                    current = []; bytes = 0
                }
                current.append(p); bytes += p.value.byteCount
            }
            if !current.isEmpty { add(current) }
        }
        var position: [ObjectIdentifier: (Int, Int)] = [:]
        for (b, bucket) in buckets.enumerated() {
            for (k, p) in bucket.parameters.enumerated() { position[ObjectIdentifier(p)] = (b, k) }
        }
        precondition(position.count == parameters.count, "ParameterStore: units must hold every parameter once")
        self.parameters = parameters
        self.buckets = buckets
        self.zero = zero
        self.expertZero = expertZero
        locations = parameters.map { position[ObjectIdentifier($0)]! }
    }

    /// Sets every gradient to zero: one fill per bucket (from ZeRO-2 the
    /// full gradients are attached zeroed when backward needs them).
    public func zeroGradients() { for b in buckets where b.hasGradients { b.grads.zero() } }

    /// Bytes of one float32 copy of every bucket (values; likewise gradients
    /// and each AdamW moment), padding included.
    public var bytesPerCopy: Int { buckets.reduce(0) { $0 + $1.count * 4 } }

    /// Multiplies every gradient this rank updates by `factor`: one pass per bucket.
    public func scaleGradients(by factor: Float) {
        for b in buckets { Elementwise.scale(b.ownedGrads, by: factor, n: b.owned.count) }
    }

    /// The buckets holding each unit's parameters, by unit (`units` as given to `init`).
    public func buckets(of units: [[Parameter]]) -> [[ParameterBucket]] {
        var bucketOf: [ObjectIdentifier: Int] = [:]
        for (p, at) in zip(parameters, locations) { bucketOf[ObjectIdentifier(p)] = at.bucket }
        return units.map { unit in
            var seen = Set<Int>()
            return unit.compactMap { p in
                let b = bucketOf[ObjectIdentifier(p)]!
                return seen.insert(b).inserted ? buckets[b] : nil
            }
        }
    }
}
