/// Weight-gradient products held back for later: zero-bubble pipelines split
/// a backward into B (input gradients, needed by the previous stage at once)
/// and W (dW += dyᵀ·x of every linear layer), which runs later in a bubble.
/// A backward given a `WeightGradients` records each linear layer's dW
/// product here (keeping its dy and x alive) instead of computing it;
/// `run()` computes them all. Bias and LayerNorm gradients are cheap and
/// stay in B.
public final class WeightGradients: @unchecked Sendable {
    private var pending: [() -> Void] = []

    public init() {}

    /// Records `product` to run later, or runs it now when `deferred` is nil.
    static func compute(_ deferred: WeightGradients?, _ product: @escaping () -> Void) {
        if let deferred { deferred.pending.append(product) } else { product() }
    }

    /// Computes every recorded product, in the order recorded, and forgets them.
    public func run() {
        for p in pending { p() }
        pending = []
    }
}
