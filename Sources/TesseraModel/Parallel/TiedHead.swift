import TesseraSupport
import TesseraKernels

/// The LM head tied to the token embedding, as a layer pair,
/// column-parallel over the vocabulary: the normed rows enter the region
/// (gathered under sequence parallelism) and each rank computes the logits
/// of its vocabulary rows, logits = normed · wte_localᵀ [rows, paddedVocab/tp].
/// Backward adds dwte += dlogitsᵀ·normed (through the weight-gradient sink)
/// and returns dnormed = reduce(dlogits · wte_local).
public final class TiedHead: Layer, @unchecked Sendable {
    /// wte as the head's products read it (at the layer's precision).
    public let weight: WorkingWeight
    let tp: TensorParallel

    /// What backward needs: the gathered normed rows [rows, d].
    public struct Cache { public let normed: Tensor }

    public init(wte: Parameter, tp: TensorParallel) {
        weight = WorkingWeight(wte)
        self.tp = tp
    }

    /// The tied weight is the embedding's parameter: the embedding lists it.
    public var parameters: [Parameter] { [] }
    public var workingWeights: [WorkingWeight] { [weight] }

    var wte: Parameter { weight.parameter }

    /// normed [outer rows, d] → logits [rows, paddedVocab/tp].
    public func forward(_ normed: Tensor, _ ctx: ForwardContext) throws -> (Tensor, Cache) { try logits(normed) }

    /// `forward`, which needs nothing of the micro-batch's context.
    public func logits(_ normed: Tensor) throws -> (Tensor, Cache) {
        let span = Trace.begin(.headForward); defer { span.end() }
        let full = try tp.gather(normed), d = wte.shape[1]
        let rows = full.count / d, v = wte.shape[0]
        let logits = Tensor(uninitialized: [rows, v])
        weight.multiplyTransposed(full, rows: rows, accumulate: false, into: logits.data)
        return (logits, Cache(normed: full))
    }

    /// dlogits [rows, paddedVocab/tp] → dnormed [outer rows, d]; dwte's product goes to the sink.
    public func backward(_ dlogits: Tensor, _ cache: Cache, _ ctx: ForwardContext,
                         _ backward: BackwardContext) throws -> Tensor {
        let span = Trace.begin(.headBackward); defer { span.end() }
        let d = wte.shape[1], v = wte.shape[0], rows = ctx.rows, full = cache.normed, wte = self.wte
        let dlogitsOperand = precision.operand(dlogits), precision = self.precision
        backward.weightGradient {
            BLAS.gemm(transA: true, transB: false, m: v, n: d, k: rows, a: dlogitsOperand, lda: v,
                      b: precision.operand(full), ldb: d, beta: 1, c: wte.grad.data, ldc: d)
        }
        let dfull = Tensor(uninitialized: [rows, d])
        BLAS.gemm(transA: false, transB: false, m: rows, n: d, k: v, a: dlogitsOperand, lda: v,
                  b: weight.operand, ldb: d, c: dfull.data, ldc: d)
        return try tp.reduce(dfull)
    }
}
