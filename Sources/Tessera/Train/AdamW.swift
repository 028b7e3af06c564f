/// AdamW over a list of parameters, with decoupled weight decay on 2-D
/// weights only and global-norm gradient clipping.
public final class AdamW: @unchecked Sendable {
    public var beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    /// Completed steps (the bias-correction exponent of the next step is t+1).
    public var t: Int = 0
    /// First and second moments, one pair per parameter, in parameter order.
    public let m: [Tensor], v: [Tensor]
    let parameters: [Parameter]

    public init(parameters: [Parameter], beta1: Float = 0.9, beta2: Float = 0.95, eps: Float = 1e-8,
                weightDecay: Float = 0.1) {
        self.parameters = parameters
        self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
        m = parameters.map { Tensor($0.shape) }
        v = parameters.map { Tensor($0.shape) }
    }

    /// Applies one update with learning rate `lr` from the parameters' gradients.
    public func step(lr: Float) {
        t += 1
        for (i, p) in parameters.enumerated() {
            let s = AdamWKernel.Step(lr: lr, beta1: beta1, beta2: beta2, eps: eps,
                                     weightDecay: p.decay ? weightDecay : 0, t: t)
            AdamWKernel.update(p: p.value.data, g: p.grad.data, m: m[i].data, v: v[i].data, n: p.value.count, step: s)
        }
    }
}

/// Global-norm gradient clipping as `torch.nn.utils.clip_grad_norm_`.
public enum GradientClipping {
    /// Σ‖g‖² over `parameters` (double precision).
    public static func sumOfSquares(_ parameters: [Parameter]) -> Double {
        parameters.reduce(0) { $0 + Elementwise.sumOfSquares($1.grad.data, n: $1.grad.count) }
    }

    /// Scales every gradient by min(1, maxNorm/(norm + 1e-6)) given the
    /// global norm `norm`. A `maxNorm` ≤ 0 disables clipping.
    public static func clip(_ parameters: [Parameter], norm: Double, maxNorm: Float) {
        guard maxNorm > 0 else { return }
        let coef = Double(maxNorm) / (norm + 1e-6)
        if coef < 1 { for p in parameters { Elementwise.scale(p.grad.data, by: Float(coef), n: p.grad.count) } }
    }
}
