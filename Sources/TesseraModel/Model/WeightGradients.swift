/// Weight-gradient products held back for later: zero-bubble pipelines split
/// a backward into B (input gradients, needed by the previous stage at once)
/// and W (dW += dyᵀ·x of every linear layer), which runs later in a bubble.
/// A backward whose `BackwardContext` carries a `WeightGradients` records
/// each linear layer's dW product here (keeping its dy and x alive) instead
/// of computing it; `run()` computes them all. Bias and LayerNorm gradients
/// are cheap and stay in B.
public final class WeightGradients: @unchecked Sendable {
    private var pending: [() -> Void] = []

    public init() {}

    /// Records `product` to run later.
    func record(_ product: @escaping () -> Void) { pending.append(product) }

    /// Computes every recorded product, in the order recorded, and forgets them.
    public func run() {
        for p in pending { p() }
        pending = []
    }
}

/// What a layer's backward needs besides its output gradient and its forward
/// cache, carried unchanged through every layer's backward: where
/// weight-gradient products go (now, or recorded for zero-bubble W) and whom
/// to tell when parameters' gradients are final (DDP's gradient-ready hook,
/// which starts a bucket's all-reduce during backward; next, ZeRO's
/// reduce-scatter). A new concern of the backward pass becomes one field
/// here, not one more parameter on every layer.
public struct BackwardContext {
    /// Records weight-gradient products to run later; nil runs them at once.
    public var deferredWeights: WeightGradients?
    /// Called with parameters whose gradients are complete for this step.
    public var gradientReady: ((_ parameters: [Parameter]) -> Void)?

    public init(deferredWeights: WeightGradients? = nil, gradientReady: ((_ parameters: [Parameter]) -> Void)? = nil) {
        self.deferredWeights = deferredWeights
        self.gradientReady = gradientReady
    }

    /// Runs the weight-gradient `product` now, or records it when deferring.
    public func weightGradient(_ product: @escaping () -> Void) {
        if let deferredWeights { deferredWeights.record(product) } else { product() }
    }

    /// Reports `parameters` as having their final gradient. Not while
    /// deferring: their weight gradients come only with the later W.
    public func finished(_ parameters: [Parameter]) {
        guard deferredWeights == nil, let gradientReady else { return }
        gradientReady(parameters)
    }
}
