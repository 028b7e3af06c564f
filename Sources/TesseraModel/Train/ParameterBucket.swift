import TesseraKernels
import TesseraTopology

/// One bucket of parameters: their values and gradients side by side in
/// flat, 64-byte-aligned float32 buffers (llm.c's single allocation,
/// Megatron's and picotron's gradient buffers). Every parameter in a bucket
/// has the same `Placement.SyncKey`, so one collective over the whole
/// gradient buffer, in place, syncs them all.
///
/// Layout: parameter k occupies elements `ranges[k]`, each starting on a
/// 16-element (64-byte) boundary; the gaps and the tail are zero and stay
/// zero (zero gradients, so AdamW leaves them at zero). The capacity
/// `count` is a multiple of 16 · `shards`, so `shard(r)` hands rank r of a
/// group of `shards` ranks one contiguous, aligned, equal part (ZeRO).
///
/// Under ZeRO (`ZeRO`) the data-parallel rank `owner` updates only its
/// shard (`owned`); from stage 2 the full gradient buffer exists only while
/// backward fills it (`attachGradients` … `releaseGradients`) and the
/// reduced gradient of the shard lives in `gradShard`; at stage 3 the same
/// holds for the values (`valueShard`, gathered by `attachValues`). A
/// parameter whose storage is released views no memory (`Tensor(released:)`).
public final class ParameterBucket: @unchecked Sendable {
    /// Elements per alignment unit (64 bytes of float32).
    public static let alignment = 16

    /// The parameters, in the order they sit in the buffers.
    public let parameters: [Parameter]
    /// Element range of each parameter, in `parameters` order.
    public let ranges: [Range<Int>]
    /// Padded element capacity of every buffer of the bucket.
    public let count: Int
    /// Number of equal shards the capacity divides into.
    public let shards: Int
    /// What ZeRO shards here, and this rank's shard.
    public let zero: ZeRO
    /// Elements this rank updates: `shard(zero.rank)` under ZeRO, else the whole capacity.
    public let owned: Range<Int>
    /// Stage 3: this rank's values [owned.count]; stage ≥ 2: its reduced gradient [owned.count].
    public let valueShard: FlatBuffer?, gradShard: FlatBuffer?
    private var fullValues: FlatBuffer?, fullGrads: FlatBuffer?
    /// The sync class every parameter here shares.
    package let key: Placement.SyncKey
    /// Bytes of full buffers attached beyond the persistent ones (shared by a store's buckets).
    let transient: TransientBytes

    init(_ parameters: [Parameter], key: Placement.SyncKey, shards: Int, zero: ZeRO, transient: TransientBytes) {
        let a = Self.alignment
        var ranges: [Range<Int>] = [], end = 0
        for p in parameters {
            ranges.append(end..<(end + p.value.count))
            end = (end + p.value.count + a - 1) / a * a
        }
        let unit = a * shards
        count = max(unit, (end + unit - 1) / unit * unit)
        self.parameters = parameters
        self.ranges = ranges
        self.shards = shards
        self.key = key
        self.zero = zero
        self.transient = transient
        let per = count / shards
        owned = zero.shardsOptimizer ? (zero.rank * per)..<((zero.rank + 1) * per) : 0..<count
        valueShard = zero.shardsParameters ? FlatBuffer(.float32, count: per) : nil
        gradShard = zero.shardsGradients ? FlatBuffer(.float32, count: per) : nil
        let values = FlatBuffer(.float32, count: count)
        for (p, r) in zip(parameters, ranges) {
            Tensor(viewing: values, at: r.lowerBound, shape: p.shape).copy(from: p.value)
        }
        if let valueShard {
            valueShard.floats.update(from: values.floats + owned.lowerBound, count: per)
            for p in parameters { p.value = Tensor(released: p.shape) }
        } else {
            attach(values, as: \.value)
            fullValues = values
        }
        if zero.shardsGradients {
            for p in parameters { p.grad = Tensor(released: p.shape) }
        } else {
            let grads = FlatBuffer(.float32, count: count)
            for (p, r) in zip(parameters, ranges) {
                Tensor(viewing: grads, at: r.lowerBound, shape: p.shape).copy(from: p.grad)
            }
            attach(grads, as: \.grad)
            fullGrads = grads
        }
    }

    /// Points each parameter's value or gradient at its place in `buffer`.
    private func attach(_ buffer: FlatBuffer, as field: ReferenceWritableKeyPath<Parameter, Tensor>) {
        for (p, r) in zip(parameters, ranges) { p[keyPath: field] = Tensor(viewing: buffer, at: r.lowerBound, shape: p.shape) }
    }

    /// Rank `r`'s contiguous part of the capacity in elements, one of
    /// `shards` equal parts starting on a 16-element boundary (the same
    /// element range in every buffer of the bucket, whatever its dtype).
    public func shard(_ r: Int) -> Range<Int> {
        precondition((0..<shards).contains(r), "bucket shard \(r) of \(shards)")
        let per = count / shards
        return (r * per)..<((r + 1) * per)
    }

    /// The full values [count] (always below stage 3; at stage 3 while attached).
    public var values: FlatBuffer {
        guard let fullValues else { preconditionFailure("bucket values are sharded and not gathered (ZeRO-3)") }
        return fullValues
    }
    /// The full gradients [count] (always below stage 2; from stage 2 while attached).
    public var grads: FlatBuffer {
        guard let fullGrads else { preconditionFailure("bucket gradients are sharded and not attached (ZeRO-2/3)") }
        return fullGrads
    }
    /// Whether the full values / gradients exist now.
    public var hasValues: Bool { fullValues != nil }
    public var hasGradients: Bool { fullGrads != nil }

    /// This rank's values of `owned` (owned.count elements).
    public var ownedValues: UnsafeMutablePointer<Float> { valueShard?.floats ?? values.floats + owned.lowerBound }
    /// This rank's summed gradient of `owned` once the gradient sync has run.
    public var ownedGrads: UnsafeMutablePointer<Float> { gradShard?.floats ?? grads.floats + owned.lowerBound }

    /// Stage 3: allocates the full values and points the parameters at them
    /// (the caller gathers the shards into the returned buffer). Returns nil when attached already.
    public func attachValues() -> FlatBuffer? {
        guard fullValues == nil else { return nil }
        let values = FlatBuffer(.float32, count: count)
        attach(values, as: \.value)
        fullValues = values
        transient.add(values: values.byteCount)
        return values
    }

    /// Stage 3: frees the full values; the parameters view no memory until the next `attachValues`.
    public func releaseValues() {
        guard let values = fullValues, zero.shardsParameters else { return }
        for p in parameters { p.value = Tensor(released: p.shape) }
        fullValues = nil
        transient.add(values: -values.byteCount)
    }

    /// Stage ≥ 2: allocates zeroed full gradients for backward to accumulate into (no-op when attached).
    public func attachGradients() {
        guard fullGrads == nil else { return }
        let grads = FlatBuffer(.float32, count: count)
        attach(grads, as: \.grad)
        fullGrads = grads
        transient.add(grads: grads.byteCount)
    }

    /// Stage ≥ 2: frees the full gradients once reduced into `gradShard`.
    public func releaseGradients() {
        guard let grads = fullGrads, zero.shardsGradients else { return }
        for p in parameters { p.grad = Tensor(released: p.shape) }
        fullGrads = nil
        transient.add(grads: -grads.byteCount)
    }

    /// Whether every parameter's gradient here counts in the global norm.
    public var isPrimary: Bool { key.primary }
}
