import TesseraKernels
import TesseraModel

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
