import TesseraKernels

/// What a forward pass saved for its backward: the activations it keeps
/// alive (for memory accounting), whatever their layout.
public protocol LayerCache {
    /// The saved tensors (a tensor may appear once only).
    var tensors: [Tensor] { get }
}

/// A block's position-wise feed-forward layer, a `Layer` with a type-erased
/// cache: x [outer rows, d] → y [outer rows, d]; backward dy → dx, adding the
/// layer's parameter gradients as the `BackwardContext` says. The dense
/// `MLP` and the `MixtureOfExperts` (its own cache, its all-to-alls inside)
/// are the two kinds.
public protocol FeedForward: Layer, Sendable where Input == Tensor, InputGradient == Tensor,
                                              Output == Tensor, OutputGradient == Tensor, Saved == any LayerCache {
    /// The linear layers whose products the model's precision governs.
    var linears: [Linear] { get }
}

extension FeedForward {
    /// The linear layers' working weights.
    public var workingWeights: [WorkingWeight] { linears.map(\.workingWeight) }
}
