import TesseraKernels

/// One transformer block of either family as the model runs it: GPT-2's
/// `Block` or Llama's `LlamaBlock`. x [outer rows, d] → [outer rows, d];
/// the backward takes dy [outer rows, d] and the forward's cache, adds every
/// parameter gradient of the block (or records the weight products in the
/// `BackwardContext`), reports them finished and returns dx [outer rows, d].
public protocol TransformerBlock: AnyObject, Sendable {
    /// The block's parameters in checkpoint order.
    var parameters: [Parameter] { get }
    /// Its linear layers' working weights.
    var workingWeights: [WorkingWeight] { get }
    /// The feed-forward layer (dense, or a mixture of experts).
    var feedForward: any FeedForward { get }
    /// The precision of the block's products (the model sets it).
    var precision: Precision { get set }
    /// Whether the attention core is recomputed in backward (`Recompute.selective`).
    var recomputesAttentionCore: Bool { get set }
    /// x → (y, cache).
    func blockForward(_ x: Tensor, _ ctx: ForwardContext) throws -> (Tensor, any LayerCache)
    /// dy, cache → dx.
    func blockBackward(_ dy: Tensor, _ cache: any LayerCache, _ ctx: ForwardContext,
                       _ backward: BackwardContext) throws -> Tensor
}

extension Block: TransformerBlock {
    public var feedForward: any FeedForward { mlp }
    public var recomputesAttentionCore: Bool {
        get { attn.recomputeCore }
        set { attn.recomputeCore = newValue }
    }
    public func blockForward(_ x: Tensor, _ ctx: ForwardContext) throws -> (Tensor, any LayerCache) {
        try forward(x, ctx)
    }
    public func blockBackward(_ dy: Tensor, _ cache: any LayerCache, _ ctx: ForwardContext,
                              _ backward: BackwardContext) throws -> Tensor {
        try self.backward(dy, cache as! Cache, ctx, backward)
    }
}

extension Block.Cache: LayerCache {}
