import TesseraKernels
import TesseraModel

/// AdamW over a `ParameterStore`, with decoupled weight decay on 2-D
/// weights only. The moments m and v are flat buffers laid out like the
/// part of each bucket this rank updates (`ParameterBucket.owned`: the
/// whole bucket, or its ZeRO shard), and the update runs over flat ranges:
/// per bucket, one kernel call per run of neighbouring parameters with the
/// same decay, cut to the owned range (a parameter may straddle two shards;
/// padding has zero gradient and stays zero).
public final class AdamW: @unchecked Sendable {
    public var beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    /// Completed steps (the bias-correction exponent of the next step is t+1).
    public var t: Int = 0
    let store: ParameterStore
    /// Per bucket: its moment buffers [owned.count] and its runs (range relative to `owned`, decayed or not).
    let flat: [(m: FlatBuffer, v: FlatBuffer, runs: [(range: Range<Int>, decay: Bool)])]

    public init(store: ParameterStore, beta1: Float = 0.9, beta2: Float = 0.95, eps: Float = 1e-8,
                weightDecay: Float = 0.1) {
        self.store = store
        self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
        flat = store.buckets.map { b in
            var runs: [(range: Range<Int>, decay: Bool)] = []
            for (p, r) in zip(b.parameters, b.ranges) {
                let cut = r.clamped(to: b.owned)
                guard !cut.isEmpty else { continue }
                let local = (cut.lowerBound - b.owned.lowerBound)..<(cut.upperBound - b.owned.lowerBound)
                if let last = runs.last, last.decay == p.decay {
                    runs[runs.count - 1].range = last.range.lowerBound..<local.upperBound
                } else {
                    runs.append((local, p.decay))
                }
            }
            return (FlatBuffer(.float32, count: b.owned.count), FlatBuffer(.float32, count: b.owned.count), runs)
        }
    }

    /// The first and second moments of bucket `b`'s owned range [owned.count].
    public func moments(_ b: Int) -> (m: FlatBuffer, v: FlatBuffer) { (flat[b].m, flat[b].v) }

    /// Bytes of both moments this rank holds.
    public var bytes: Int { flat.reduce(0) { $0 + $1.m.byteCount + $1.v.byteCount } }

    /// Applies one update with learning rate `lr` to the owned values from
    /// the owned gradients, scaled first by `gradScale` (gradient clipping's
    /// factor, `GradientClipping.factor`) in the same pass when it is not 1:
    /// values, moments and gradients end as a separate scaling pass
    /// (`ParameterStore.scaleGradients`) followed by the update leave them.
    public func step(lr: Float, gradScale: Float = 1) {
        t += 1
        for (bucket, moments) in zip(store.buckets, flat) {
            let p = bucket.ownedValues, g = bucket.ownedGrads
            for run in moments.runs {
                let s = AdamWKernel.Step(lr: lr, beta1: beta1, beta2: beta2, eps: eps,
                                         weightDecay: run.decay ? weightDecay : 0, t: t)
                let o = run.range.lowerBound
                if gradScale != 1 {
                    AdamWKernel.update(p: p + o, scaling: g + o, by: gradScale, m: moments.m.floats + o,
                                       v: moments.v.floats + o, n: run.range.count, step: s)
                } else {
                    AdamWKernel.update(p: p + o, g: g + o, m: moments.m.floats + o, v: moments.v.floats + o,
                                       n: run.range.count, step: s)
                }
            }
        }
    }
}
