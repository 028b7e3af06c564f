import TesseraKernels

/// What a pipeline stage's saved forward holds until its backward.
public protocol StageCache {
    /// Activation bytes held (every saved tensor once).
    var bytes: Int { get }
}

/// A module the pipeline executor can run as one stage: a forward from
/// tokens (first stage) or the previous stage's activation, a backward
/// from the next stage's gradient (or the loss, on the last stage), and the
/// shape of what crosses a stage boundary. The executor knows nothing else
/// of the model: GPT conforms, and so can a stage of any other model.
public protocol PipelineStage: AnyObject {
    /// What `stageForward` saves for `stageBackward`.
    associatedtype Cache: StageCache

    /// Shape of the activation that crosses a stage boundary for a
    /// micro-batch of `ctx` (and of its gradient); the receiving stage's to say.
    func boundaryShape(_ ctx: ForwardContext) -> [Int]

    /// The forward on a micro-batch: `tokens` [rows] on the first stage,
    /// else `input` (boundary shape). Returns the output activation
    /// (boundary shape; nil on the last stage), the summed token loss (last
    /// stage; its gradient, scaled by `gradScale`, is in the cache; nil
    /// gradScale: no gradient) and the cache.
    func stageForward(tokens: [Int32], input: Tensor?, targets: [Int32], _ ctx: ForwardContext,
                      gradScale: Float?) throws -> (output: Tensor?, loss: Double, cache: Cache)

    /// The backward: `dOutput` (boundary shape; nil on the last stage) → the
    /// gradient of the stage's input (nil on the first stage); parameter
    /// gradients are added, or recorded, as `backward` says.
    func stageBackward(_ cache: Cache, dOutput: Tensor?, _ ctx: ForwardContext,
                       _ backward: BackwardContext) throws -> Tensor?
}

extension PipelineStage {
    /// `stageForward` with the cache type-erased (what the executor stores).
    package func erasedForward(tokens: [Int32], input: Tensor?, targets: [Int32], _ ctx: ForwardContext,
                       gradScale: Float?) throws -> (output: Tensor?, loss: Double, cache: any StageCache) {
        let (output, loss, cache) = try stageForward(tokens: tokens, input: input, targets: targets, ctx, gradScale: gradScale)
        return (output, loss, cache)
    }

    /// `stageBackward` of a cache this stage's `erasedForward` made.
    package func erasedBackward(_ cache: any StageCache, dOutput: Tensor?, _ ctx: ForwardContext,
                        _ backward: BackwardContext) throws -> Tensor? {
        guard let mine = cache as? Cache else {
            preconditionFailure("pipeline stage \(Self.self) was given a \(type(of: cache)) cache")
        }
        return try stageBackward(mine, dOutput: dOutput, ctx, backward)
    }
}

extension GPT: PipelineStage {}
extension GPT.Cache: StageCache {}
