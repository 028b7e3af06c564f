import TesseraKernels

/// A normalisation over each row's features with its own parameters:
/// GPT-2's `LayerNorm`, Llama's `RMSNorm`. x [n, d] → y [n, d]; the backward
/// takes dy [n, d] and the forward's cache, adds the parameters' gradients
/// and returns dx [n, d].
public protocol RowNormalization: AnyObject, Sendable {
    /// Parameters in checkpoint order.
    var parameters: [Parameter] { get }
    /// x [n, d] → (y [n, d], what backward needs).
    func normalize(_ x: Tensor) -> (Tensor, any LayerCache)
    /// dy [n, d] → dx [n, d]; accumulates the parameters' gradients.
    func normalizeBackward(_ dy: Tensor, _ cache: any LayerCache) -> Tensor
}

extension LayerNorm.Cache: LayerCache {
    public var tensors: [Tensor] { [x, mean, rstd] }
}

extension LayerNorm: RowNormalization {
    public var parameters: [Parameter] { [gain, bias] }
    public func normalize(_ x: Tensor) -> (Tensor, any LayerCache) { forward(x) }
    public func normalizeBackward(_ dy: Tensor, _ cache: any LayerCache) -> Tensor { backward(dy, cache as! Cache) }
}
