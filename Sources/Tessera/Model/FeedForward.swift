/// What a forward pass saved for its backward: the activations it keeps
/// alive (for memory accounting), whatever their layout.
public protocol LayerCache {
    /// The saved tensors (a tensor may appear once only).
    var tensors: [Tensor] { get }
}

/// A block's position-wise feed-forward layer as a forward/backward pair:
/// x [outer rows, d] → y [outer rows, d]. Dense (`MLP`) today; a mixture of
/// experts plugs in here with its own cache and its all-to-alls inside.
public protocol FeedForward: AnyObject, Sendable {
    /// Parameters in checkpoint order.
    var parameters: [Parameter] { get }
    /// The linear layers whose products the model's precision governs.
    var linears: [Linear] { get }
    /// x [outer rows, d] → (y [outer rows, d], what backward needs).
    func forward(_ x: Tensor, _ ctx: ForwardContext) throws -> (Tensor, any LayerCache)
    /// dy [outer rows, d] → dx [outer rows, d]; accumulates the layer's parameter gradients as `backward` says.
    func backward(_ dy: Tensor, _ cache: any LayerCache, _ ctx: ForwardContext,
                  _ backward: BackwardContext) throws -> Tensor
}
