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
    /// Values and gradients [count], float32.
    public let values: FlatBuffer, grads: FlatBuffer
    /// Low-precision working copy of the values [count] (e.g. bf16 weights
    /// refreshed once per optimizer step), once `addWorkingCopy` made it.
    public private(set) var working: FlatBuffer?
    /// The sync class every parameter here shares.
    let key: Placement.SyncKey

    init(_ parameters: [Parameter], key: Placement.SyncKey, shards: Int) {
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
        values = FlatBuffer(.float32, count: count)
        grads = FlatBuffer(.float32, count: count)
        for (p, r) in zip(parameters, ranges) {
            let value = Tensor(viewing: values, at: r.lowerBound, shape: p.shape)
            let grad = Tensor(viewing: grads, at: r.lowerBound, shape: p.shape)
            value.copy(from: p.value)
            grad.copy(from: p.grad)
            p.value = value
            p.grad = grad
        }
    }

    /// Rank `r`'s contiguous part of the capacity in elements, one of
    /// `shards` equal parts starting on a 16-element boundary (the same
    /// element range in every buffer of the bucket, whatever its dtype).
    public func shard(_ r: Int) -> Range<Int> {
        precondition((0..<shards).contains(r), "bucket shard \(r) of \(shards)")
        let per = count / shards
        return (r * per)..<((r + 1) * per)
    }

    /// Whether every parameter's gradient here counts in the global norm.
    public var isPrimary: Bool { key.primary }

    /// Creates (once) the working copy of the values in `dtype`, laid out as
    /// the float32 buffers (parameter k at elements `ranges[k]`), zeroed;
    /// the precision policy fills it from `values` after each optimizer step.
    @discardableResult
    public func addWorkingCopy(_ dtype: DType) -> FlatBuffer {
        if let working {
            precondition(working.dtype == dtype, "bucket already has a \(working.dtype) working copy, not \(dtype)")
            return working
        }
        let w = FlatBuffer(dtype, count: count)
        working = w
        return w
    }

    /// Start of parameter `k`'s elements in the working copy (`ranges[k].count` elements of its dtype).
    public func workingElements(of k: Int) -> UnsafeMutableRawPointer {
        guard let working else { preconditionFailure("bucket has no working copy; call addWorkingCopy first") }
        return working.raw + ranges[k].lowerBound * working.dtype.size
    }
}

/// Every parameter of one rank in flat buckets (see `ParameterBucket`): one
/// allocation per bucket for values, one for gradients, grouped by what the
/// gradient sync must do (`Placement.SyncKey`) and, within a group, in
/// reverse parameter order (the order backward produces gradients) up to
/// `bucketBytes` each (a larger parameter gets a bucket of its own).
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

    /// Buckets `parameters` (capacities padded to 16 · `shards` elements).
    public init(parameters: [Parameter], bucketBytes: Int, shards: Int = 1) {
        precondition(shards >= 1, "ParameterStore: shards must be at least 1")
        var keys: [Placement.SyncKey] = [], groups: [Placement.SyncKey: [Parameter]] = [:]
        for p in parameters.reversed() {
            let key = p.placement.syncKey
            if groups[key] == nil { keys.append(key) }
            groups[key, default: []].append(p)
        }
        var buckets: [ParameterBucket] = []
        for key in keys {
            var current: [Parameter] = [], bytes = 0
            for p in groups[key]! {
                if !current.isEmpty && bytes + p.value.byteCount > bucketBytes {
                    buckets.append(ParameterBucket(current, key: key, shards: shards))
                    current = []; bytes = 0
                }
                current.append(p); bytes += p.value.byteCount
            }
            if !current.isEmpty { buckets.append(ParameterBucket(current, key: key, shards: shards)) }
        }
        var position: [ObjectIdentifier: (Int, Int)] = [:]
        for (b, bucket) in buckets.enumerated() {
            for (k, p) in bucket.parameters.enumerated() { position[ObjectIdentifier(p)] = (b, k) }
        }
        self.parameters = parameters
        self.buckets = buckets
        locations = parameters.map { position[ObjectIdentifier($0)]! }
    }

    /// Sets every gradient to zero: one fill per bucket.
    public func zeroGradients() { for b in buckets { b.grads.zero() } }

    /// Bytes of one float32 copy of every bucket (values; likewise gradients
    /// and each AdamW moment), padding included.
    public var bytesPerCopy: Int { buckets.reduce(0) { $0 + $1.values.byteCount } }

    /// Σ‖g‖² over the primary buckets (each element of the model replica once, see `Placement.isPrimary`).
    public func primaryGradientSumOfSquares() -> Double {
        buckets.filter(\.isPrimary).reduce(0) { $0 + Elementwise.sumOfSquares($1.grads.floats, n: $1.count) }
    }

    /// Multiplies every gradient by `factor`: one pass per bucket.
    public func scaleGradients(by factor: Float) {
        for b in buckets { Elementwise.scale(b.grads.floats, by: factor, n: b.count) }
    }
}
