import TesseraKernels
import TesseraComm

/// This rank's place in a Megatron tensor-parallel group, and the two
/// communication operators of the tensor-parallel region.
///
/// A column-parallel linear (qkv, MLP fc, the tied LM head) splits its output
/// features across the group; a row-parallel linear (attention proj, MLP out,
/// the vocab-parallel embedding) splits its input features and leaves every
/// rank a partial sum. Megatron's conjugate pairs connect them:
///
/// | operator | TP forward | TP backward | TP+SP forward | TP+SP backward |
/// |---|---|---|---|---|
/// | `enter` (before column-parallel) | identity | all-reduce | all-gather rows | reduce-scatter rows |
/// | `leave` (after row-parallel) | all-reduce | identity | reduce-scatter rows | all-gather rows |
///
/// So `enter` forward and `leave` backward are both `gather`, and `leave`
/// forward and `enter` backward are both `reduce`. Under sequence
/// parallelism the rows outside the region (LayerNorm, dropout, residual)
/// are split into `size` contiguous chunks of the micro-batch's sample-major
/// rows. (Megatron splits s of its [s, b, h] layout: likewise a contiguous
/// chunk of its flattened tokens; the sequence length must divide by tp.)
/// A group of one makes every operator the identity.
public struct TensorParallel: Sendable {
    /// The tensor-parallel group (counted, so tests can see each collective).
    public let group: CountingGroup
    /// Whether LayerNorm, dropout and residuals run on sequence shards.
    public let sequenceParallel: Bool

    public init(group: ProcessGroup, sequenceParallel: Bool) {
        self.group = group as? CountingGroup ?? CountingGroup(group)
        self.sequenceParallel = sequenceParallel && group.size > 1
    }

    /// No tensor parallelism: a group of one rank.
    public static func single() -> TensorParallel {
        TensorParallel(group: ThreadWorld(size: 1).worldGroup(rank: 0), sequenceParallel: false)
    }

    public var size: Int { group.size }
    public var rank: Int { group.rank }

    /// This rank's contiguous part of `total` items split evenly (total % size == 0).
    public func part(_ total: Int) -> Range<Int> { (total / size * rank)..<(total / size * (rank + 1)) }

    /// Rows of `ctx` outside the region held here: all under TP, chunk `rank`
    /// of `size` contiguous chunks under SP.
    public func outerRows(_ ctx: ForwardContext) -> Int { sequenceParallel ? ctx.rows / size : ctx.rows }

    /// Coordinates of the rows held outside the region.
    public func outerCoords(_ ctx: ForwardContext) -> RowCoordinates {
        var c = ctx.coords
        if sequenceParallel { c.rowOffset = rank * outerRows(ctx) }
        return c
    }

    /// `enter` forward, `leave` backward: x [outer rows, c] → [rows, c]
    /// (all-gather of the row chunks under SP, else x itself).
    public func gather(_ x: Tensor) throws -> Tensor {
        guard sequenceParallel else { return x }
        let c = x.shape[x.shape.count - 1], local = x.count / c
        let full = Tensor(uninitialized: [local * size, c])
        try group.allGather(x.data, count: x.count, into: full.data)
        return full
    }

    /// `leave` forward, `enter` backward: partial sums y [rows, c] → summed
    /// [outer rows, c] (reduce-scatter under SP, all-reduce in place under TP).
    public func reduce(_ y: Tensor) throws -> Tensor {
        guard size > 1 else { return y }
        guard sequenceParallel else {
            try group.allReduce(y.data, count: y.count, op: .sum)
            return y
        }
        let c = y.shape[y.shape.count - 1], rows = y.count / c
        let out = Tensor(uninitialized: [rows / size, c])
        try group.reduceScatter(y.data, total: y.count, into: out.data, op: .sum)
        return out
    }
}
