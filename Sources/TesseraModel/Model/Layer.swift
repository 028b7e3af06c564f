import TesseraKernels

/// A layer as an explicit forward/backward pair (no tape): `forward` returns
/// its output and what its backward needs; `backward` takes the output's
/// gradient and that cache, adds its parameters' gradients (or records the
/// weight-gradient products in the `BackwardContext`'s sink, for zero-bubble
/// W), reports finished parameters through the context's gradient-ready
/// callback, and returns the input's gradient.
///
/// The precision of a layer's matrix products is its `precision` slot: the
/// model sets it once (`GPT.precision`) and the layer's working weights
/// (`WorkingWeight`) and activation operands follow it.
///
/// Blocks, attention and feed-forward layers map a tensor to a tensor; the
/// vocab-parallel embedding reads token ids and has no input gradient
/// (`InputGradient == Void`); the cross-entropy reads logits and targets and
/// returns the loss, whose gradient is a scale (`Output == Double`,
/// `OutputGradient == Float`).
public protocol Layer: AnyObject {
    /// What forward reads: an activation [outer rows, d] unless said otherwise.
    associatedtype Input = Tensor
    /// What backward returns for the input: its gradient (same shape) unless said otherwise.
    associatedtype InputGradient = Tensor
    /// What forward returns: an activation [outer rows, d] unless said otherwise (the loss layer returns the loss).
    associatedtype Output = Tensor
    /// What backward takes for the output: its gradient (same shape) unless said otherwise (the loss's scale).
    associatedtype OutputGradient = Tensor
    /// What forward saves for backward (usually the layer's nested `Cache`;
    /// named apart from it so a layer whose nested `Cache` is not what it
    /// saves, such as a `FeedForward` with a type-erased cache, still conforms).
    associatedtype Saved

    /// Parameters in checkpoint order.
    var parameters: [Parameter] { get }
    /// The weights this layer's products read at its precision (none for a layer without products).
    var workingWeights: [WorkingWeight] { get }

    /// input → (output, cache).
    func forward(_ input: Input, _ ctx: ForwardContext) throws -> (Output, Saved)
    /// The output's gradient and the forward's cache → the input's gradient.
    func backward(_ dy: OutputGradient, _ cache: Saved, _ ctx: ForwardContext, _ backward: BackwardContext) throws -> InputGradient
}

extension Layer {
    /// The precision of this layer's products (fp32 for a layer without
    /// weights); setting it sets every working weight's, dropping their copies.
    public var precision: Precision {
        get { workingWeights.first?.precision ?? .fp32 }
        set { for w in workingWeights { w.precision = newValue } }
    }
}
