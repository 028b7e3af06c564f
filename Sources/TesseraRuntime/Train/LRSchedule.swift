import Foundation

/// Linear warm-up to the peak rate, then cosine decay to `minRatio`·peak at the last step.
public struct LRSchedule: Sendable {
    public var peak: Float, warmup: Int, total: Int, minRatio: Float

    public init(peak: Float, warmup: Int, total: Int, minRatio: Float = 0.1) {
        self.peak = peak; self.warmup = warmup; self.total = total; self.minRatio = minRatio
    }

    /// Learning rate of 0-based `step`.
    public func rate(at step: Int) -> Float {
        if step < warmup { return peak * Float(step + 1) / Float(warmup) }
        let span = max(1, total - warmup)
        let progress = min(1, Double(step - warmup) / Double(span))
        let cosine = 0.5 * (1 + Foundation.cos(Double.pi * progress))
        return peak * (minRatio + (1 - minRatio) * Float(cosine))
    }
}
