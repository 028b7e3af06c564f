import TesseraKernels
import TesseraModel

/// Global-norm gradient clipping as `torch.nn.utils.clip_grad_norm_`.
public enum GradientClipping {
    /// Scales every gradient of `store` by min(1, maxNorm/(norm + 1e-6))
    /// given the global norm `norm`. A `maxNorm` ≤ 0 disables clipping.
    public static func clip(_ store: ParameterStore, norm: Double, maxNorm: Float) {
        let coef = factor(norm: norm, maxNorm: maxNorm)
        if coef != 1 { store.scaleGradients(by: coef) }
    }

    /// The factor clipping scales every gradient by, min(1, maxNorm/(norm + 1e-6))
    /// as a Float, 1 when `maxNorm` ≤ 0 (the trainer hands it to `AdamW.step`,
    /// which scales and updates in one pass).
    public static func factor(norm: Double, maxNorm: Float) -> Float {
        guard maxNorm > 0 else { return 1 }
        let coef = Double(maxNorm) / (norm + 1e-6)
        return coef < 1 ? Float(coef) : 1
    }
}
