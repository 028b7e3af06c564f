import TesseraSupport
import TesseraKernels

/// Token and position embedding as a layer pair, vocab-parallel over the
/// tensor-parallel group (Megatron's VocabParallelEmbedding): each rank
/// holds wte rows `vocabRange` [paddedVocab/tp, d], looks up the tokens it
/// holds (zeros for the rest) and the reduce out of the region sums the
/// ranks' rows; then positions and dropout on the rows this rank holds.
/// Token ids have no gradient: backward adds dwte and dwpe only.
public final class VocabParallelEmbedding: Layer, @unchecked Sendable {
    public typealias Input = [Int32]
    public typealias InputGradient = Void

    /// Token embedding [paddedVocab/tp, d] (tied to the head on a one-stage model).
    public let wte: Parameter
    /// Position embedding [seqLen, d], held whole by every tp rank (GPT-2; nil for Llama's rotary positions).
    public let wpe: Parameter?
    /// Vocabulary ids whose wte rows this rank holds (may run past vocab into padding).
    public let vocabRange: Range<Int>
    let tp: TensorParallel

    /// What backward needs: the token ids.
    public struct Cache { public let tokens: [Int32] }

    public init(wte: Parameter, wpe: Parameter?, vocabRange: Range<Int>, tp: TensorParallel) {
        self.wte = wte; self.wpe = wpe; self.vocabRange = vocabRange; self.tp = tp
    }

    public var parameters: [Parameter] { [wte] + (wpe.map { [$0] } ?? []) }
    /// A lookup runs no products.
    public var workingWeights: [WorkingWeight] { [] }

    var dModel: Int { wte.shape[1] }

    /// tokens [rows] → x [outer rows, d].
    public func forward(_ tokens: [Int32], _ ctx: ForwardContext) throws -> (Tensor, Cache) {
        let span = Trace.begin(.embeddingForward); defer { span.end() }
        let d = dModel
        let full = Tensor(uninitialized: [ctx.rows, d])
        tokens.withUnsafeBufferPointer { tok in
            EmbeddingKernel.lookup(x: full.data, tokens: tok.baseAddress!, wte: wte.value.data, rows: ctx.rows, d: d,
                                   vocab: vocabRange)
        }
        let x = try tp.reduce(full)
        let rows = tp.outerRows(ctx), coords = tp.outerCoords(ctx)
        if let wpe { EmbeddingKernel.addPositions(x: x.data, wpe: wpe.value.data, rows: rows, d: d, coords: coords) }
        if let site = ctx.site("embed") {
            DropoutKernel.apply(x.data, rows: rows, c: d, featureBase: 0, coords: coords, site: site)
        }
        return (x, Cache(tokens: tokens))
    }

    /// dx [outer rows, d] (overwritten: dropout is applied in place) → adds
    /// dwpe and this rank's rows of dwte; reports both finished.
    public func backward(_ dh: Tensor, _ cache: Cache, _ ctx: ForwardContext, _ backward: BackwardContext) throws {
        let span = Trace.begin(.embeddingBackward); defer { span.end() }
        let d = dModel, rows = tp.outerRows(ctx), coords = tp.outerCoords(ctx)
        if let site = ctx.site("embed") {
            DropoutKernel.apply(dh.data, rows: rows, c: d, featureBase: 0, coords: coords, site: site)
        }
        if let wpe { EmbeddingKernel.backwardPositions(dwpe: wpe.grad.data, dx: dh.data, rows: rows, d: d, coords: coords) }
        let dx = try tp.gather(dh)
        cache.tokens.withUnsafeBufferPointer { tok in
            EmbeddingKernel.backwardTokens(dwte: wte.grad.data, dx: dx.data, tokens: tok.baseAddress!, rows: ctx.rows,
                                           d: d, vocab: vocabRange)
        }
        backward.finished(parameters)
    }
}
