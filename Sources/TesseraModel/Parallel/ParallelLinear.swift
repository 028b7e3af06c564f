import TesseraKernels

/// A linear layer whose output features are split across the tensor-parallel
/// group (Megatron's ColumnParallelLinear): W_r [out/tp, in] holds this rank's
/// rows of W, so y_r = x·W_rᵀ + b_r is this rank's column block of y and
/// needs no communication. The input enters the region through `enter`
/// (identity, or an all-gather of sequence shards).
///
/// `blocks` > 1 splits a fused weight made of equal blocks (qkv's [Q; K; V])
/// blockwise, so a rank holds the q, k and v rows of its own heads.
public final class ColumnParallelLinear: @unchecked Sendable {
    public let linear: Linear
    let tp: TensorParallel

    /// Global weight [out, in] ~ N(0, std²) and bias [out] of zeros; this rank
    /// keeps rows tp.part(out/blocks) of each of the `blocks` row blocks.
    public init(name: String, inFeatures: Int, outFeatures: Int, blocks: Int = 1, std: Float, tp: TensorParallel) {
        let per = outFeatures / blocks
        let rows = (0..<blocks).map { b in tp.part(per).lowerBound + b * per..<tp.part(per).upperBound + b * per }
        linear = Linear(weight: .shard(name: name + ".weight", global: [outFeatures, inFeatures], rowRanges: rows,
                                       cols: 0..<inFeatures, rule: .normal(std), placement: .sharded(dim: 0, over: tp)),
                        bias: .shard(name: name + ".bias", global: [outFeatures], rowRanges: rows, cols: 0..<1,
                                     rule: .zeros, placement: .sharded(dim: 0, over: tp)))
        self.tp = tp
    }

    /// x [outer rows, in] → y [rows, out/tp]. Save `x` (not the gathered
    /// input) for backward: under SP it is 1/tp of the size.
    public func forward(_ x: Tensor) throws -> Tensor {
        linear.forward(try tp.gather(x))
    }

    /// dy [rows, out/tp], x the forward's input [outer rows, in] → dx
    /// [outer rows, in]; accumulates dW, db. Under SP the input is gathered
    /// again here (Megatron's choice: memory over one more all-gather).
    /// `backward` runs dW now or records it (zero-bubble W). With
    /// `includeBias: false` db is left to the caller (a fused pass made it).
    public func backward(_ dy: Tensor, input x: Tensor, _ backward: BackwardContext = BackwardContext(),
                         includeBias: Bool = true) throws -> Tensor {
        let full = try tp.gather(x), linear = self.linear
        backward.weightGradient { linear.backwardWeight(dy, input: full, includeBias: includeBias) }
        return try tp.reduce(linear.backwardInput(dy))
    }
}

/// A linear layer whose input features are split across the tensor-parallel
/// group (Megatron's RowParallelLinear): W_r [out, in/tp] holds this rank's
/// columns of W, so x_r·W_rᵀ is a partial sum over the group. It leaves the
/// region through `leave` (all-reduce, or reduce-scatter onto sequence
/// shards), then adds the bias, which every rank holds whole.
public final class RowParallelLinear: @unchecked Sendable {
    public let linear: Linear
    let tp: TensorParallel

    /// Global weight [out, in] ~ N(0, std²), this rank's columns tp.part(in); bias [out] of zeros (none
    /// without `bias`, as in Llama).
    public init(name: String, inFeatures: Int, outFeatures: Int, std: Float, tp: TensorParallel, bias: Bool = true) {
        linear = Linear(weight: .shard(name: name + ".weight", global: [outFeatures, inFeatures],
                                       rowRanges: [0..<outFeatures], cols: tp.part(inFeatures), rule: .normal(std),
                                       placement: .sharded(dim: 1, over: tp)),
                        bias: bias ? Parameter(name: name + ".bias", shape: [outFeatures], rule: .zeros,
                                               placement: .replicated(over: tp)) : nil)
        self.tp = tp
    }

    /// x [rows, in/tp] → y [outer rows, out] = reduce(x·W_rᵀ) + b.
    public func forward(_ x: Tensor) throws -> Tensor {
        let y = try tp.reduce(linear.forward(x, includeBias: false))
        if let bias = linear.bias {
            Elementwise.addBias(y.data, bias.value.data, rows: y.count / linear.outFeatures, c: linear.outFeatures)
        }
        return y
    }

    /// dy [outer rows, out], x the forward's input [rows, in/tp] → dx [rows, in/tp].
    /// db sums this rank's rows only (a partial sum under SP, reduced with
    /// the other sequence-parallel gradients).
    public func backward(_ dy: Tensor, input x: Tensor, _ backward: BackwardContext = BackwardContext()) throws -> Tensor {
        let linear = self.linear
        if let bias = linear.bias {
            Elementwise.sumRows(into: bias.grad.data, dy.data, rows: dy.count / linear.outFeatures, c: linear.outFeatures)
        }
        let full = try tp.gather(dy)
        backward.weightGradient { linear.backwardWeight(full, input: x, includeBias: false) }
        return linear.backwardInput(full)
    }
}
