/// AdamW over a `ParameterStore`, with decoupled weight decay on 2-D
/// weights only. The moments m and v are flat buffers laid out like each
/// bucket's values, and the update runs over flat ranges: per bucket, one
/// kernel call per run of neighbouring parameters with the same decay
/// (padding between parameters has zero gradient and stays zero).
public final class AdamW: @unchecked Sendable {
    public var beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    /// Completed steps (the bias-correction exponent of the next step is t+1).
    public var t: Int = 0
    /// First and second moments of each parameter (views into the flat
    /// moment buffers), in the store's parameter order.
    public let m: [Tensor], v: [Tensor]
    let store: ParameterStore
    /// Per bucket: its moment buffers and its runs (element range, decayed or not).
    let flat: [(m: FlatBuffer, v: FlatBuffer, runs: [(range: Range<Int>, decay: Bool)])]

    public init(store: ParameterStore, beta1: Float = 0.9, beta2: Float = 0.95, eps: Float = 1e-8,
                weightDecay: Float = 0.1) {
        self.store = store
        self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
        flat = store.buckets.map { b in
            var runs: [(range: Range<Int>, decay: Bool)] = []
            for (p, r) in zip(b.parameters, b.ranges) {
                if let last = runs.last, last.decay == p.decay {
                    runs[runs.count - 1].range = last.range.lowerBound..<r.upperBound
                } else {
                    runs.append((r, p.decay))
                }
            }
            return (FlatBuffer(.float32, count: b.count), FlatBuffer(.float32, count: b.count), runs)
        }
        func views(_ moment: (Int) -> FlatBuffer) -> [Tensor] {
            zip(store.parameters, store.locations).map { p, at in
                Tensor(viewing: moment(at.bucket), at: store.buckets[at.bucket].ranges[at.index].lowerBound, shape: p.shape)
            }
        }
        let flat = self.flat
        m = views { flat[$0].m }
        v = views { flat[$0].v }
    }

    /// Applies one update with learning rate `lr` from the parameters' gradients.
    public func step(lr: Float) {
        t += 1
        for (bucket, moments) in zip(store.buckets, flat) {
            for run in moments.runs {
                let s = AdamWKernel.Step(lr: lr, beta1: beta1, beta2: beta2, eps: eps,
                                         weightDecay: run.decay ? weightDecay : 0, t: t)
                let o = run.range.lowerBound
                AdamWKernel.update(p: bucket.values.floats + o, g: bucket.grads.floats + o, m: moments.m.floats + o,
                                   v: moments.v.floats + o, n: run.range.count, step: s)
            }
        }
    }
}

/// Global-norm gradient clipping as `torch.nn.utils.clip_grad_norm_`.
public enum GradientClipping {
    /// Scales every gradient of `store` by min(1, maxNorm/(norm + 1e-6))
    /// given the global norm `norm`. A `maxNorm` ≤ 0 disables clipping.
    public static func clip(_ store: ParameterStore, norm: Double, maxNorm: Float) {
        guard maxNorm > 0 else { return }
        let coef = Double(maxNorm) / (norm + 1e-6)
        if coef < 1 { store.scaleGradients(by: Float(coef)) }
    }
}
