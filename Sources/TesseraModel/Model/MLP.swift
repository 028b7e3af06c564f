import TesseraSupport
import TesseraKernels

/// Position-wise feed-forward: out = GELU(x·W_fcᵀ + b_fc)·W_outᵀ + b_out,
/// hidden width 4d. Under tensor parallelism fc is column-parallel and out
/// row-parallel, so each rank holds 4d/tp hidden units and the MLP
/// communicates once forward and once backward. The dense `FeedForward`.
public final class MLP: FeedForward, @unchecked Sendable {
    /// Up projection, weight [4d/tp, d].
    public let fc: ColumnParallelLinear
    /// Down projection, weight [d, 4d/tp].
    public let out: RowParallelLinear

    /// Saved activations: the input (outer rows), the pre-activation and the
    /// GELU output ([rows, 4d/tp] each).
    public struct Cache: LayerCache {
        let x: Tensor, pre: Tensor, act: Tensor
        public var tensors: [Tensor] { [x, pre, act] }
    }

    public init(name: String, dModel: Int, layers: Int, tp: TensorParallel) {
        let std: Float = 0.02, residualStd = std / (2 * Float(layers)).squareRoot()
        fc = ColumnParallelLinear(name: name + ".fc", inFeatures: dModel, outFeatures: 4 * dModel, std: std, tp: tp)
        out = RowParallelLinear(name: name + ".out", inFeatures: 4 * dModel, outFeatures: dModel, std: residualStd,
                                tp: tp)
    }

    /// Parameters in checkpoint order.
    public var parameters: [Parameter] {
        [fc.linear.weight, fc.linear.bias!, out.linear.weight, out.linear.bias!]
    }

    public var linears: [Linear] { [fc.linear, out.linear] }

    public func forward(_ x: Tensor, _ ctx: ForwardContext) throws -> (Tensor, any LayerCache) { try forward(x) }

    public func backward(_ dy: Tensor, _ cache: any LayerCache, _ ctx: ForwardContext,
                         _ backward: BackwardContext) throws -> Tensor {
        try self.backward(dy, cache as! Cache, backward)
    }

    /// x [outer rows, d] → y [outer rows, d].
    public func forward(_ x: Tensor) throws -> (Tensor, Cache) {
        let span = Trace.begin(.mlpForward); defer { span.end() }
        let pre = try fc.forward(x)
        let act = Tensor(uninitialized: pre.shape)
        GELUKernel.forward(y: act.data, x: pre.data, n: pre.count)
        return (try out.forward(act), Cache(x: x, pre: pre, act: act))
    }

    /// dy [outer rows, d] → dx [outer rows, d]; accumulates the four parameter gradients.
    public func backward(_ dy: Tensor, _ cache: Cache, _ backward: BackwardContext = BackwardContext()) throws -> Tensor {
        let span = Trace.begin(.mlpBackward); defer { span.end() }
        let dact = try out.backward(dy, input: cache.act, backward)
        // GELU's derivative and fc's bias gradient in one pass over dact (bitwise the two passes).
        let fcBias = fc.linear.bias!, width = fcBias.shape[0]
        GELUKernel.backward(dx: dact.data, dy: dact.data, x: cache.pre.data, rows: dact.count / width, c: width,
                            addingColumnSumsTo: fcBias.grad.data)
        return try fc.backward(dact, input: cache.x, backward, includeBias: false)
    }
}
