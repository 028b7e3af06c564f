import TesseraKernels

/// One expert of a mixture-of-experts block: out = GELU(x·W_fcᵀ + b_fc)·W_outᵀ + b_out,
/// d → H → d, run on the contiguous rows routed to it (one matrix product
/// per linear layer). Held by the rank that holds the expert: whole
/// (`tp` nil, or a group of one), or under expert tensor parallelism
/// split over the tensor-parallel group like the dense MLP — W_fc's rows
/// and b_fc by `tp.part(H)` (column-parallel), W_out's columns by the same
/// part (row-parallel), b_out whole on every tp rank. Split, `forward`
/// returns this rank's partial sum of x·…·W_outᵀ without b_out and
/// `backward` this rank's partial sum of dx: the caller (`MixtureOfExperts`)
/// sums both over tp once for all its experts and adds b_out (`addOutBias`).
public final class ExpertMLP: @unchecked Sendable {
    /// Up projection, weight [H/t, d]; down projection, weight [d, H/t] (t: tp when split, else 1).
    public let fc: Linear, out: Linear
    /// Whether the expert is split over a tensor-parallel group of more than one rank.
    public let split: Bool

    /// What forward saved: the input [n, d], the pre-activation and the GELU output [n, H/t].
    struct Cache { let x: Tensor, pre: Tensor, act: Tensor }

    /// Expert `name` ("h.1.mlp.experts.3") of width `hidden`; `layers` scales the down projection's init as GPT-2
    /// does. With `tp` of more than one rank the expert is split over it (its parameters draw their slice of the
    /// whole expert's initial values); otherwise every parameter is placed by `placement`.
    public init(name: String, dModel: Int, hidden: Int, layers: Int, placement: Placement, tp: TensorParallel? = nil) {
        let std: Float = 0.02, residualStd = std / (2 * Float(layers)).squareRoot()
        split = (tp?.size ?? 1) > 1
        if let tp, split {
            let part = tp.part(hidden)
            fc = Linear(weight: .shard(name: "\(name).fc.weight", global: [hidden, dModel], rowRanges: [part],
                                       cols: 0..<dModel, rule: .normal(std), placement: .sharded(dim: 0, over: tp).ofOneExpert),
                        bias: .shard(name: "\(name).fc.bias", global: [hidden], rowRanges: [part], cols: 0..<1,
                                     rule: .zeros, placement: .sharded(dim: 0, over: tp).ofOneExpert))
            out = Linear(weight: .shard(name: "\(name).out.weight", global: [dModel, hidden], rowRanges: [0..<dModel],
                                        cols: part, rule: .normal(residualStd),
                                        placement: .sharded(dim: 1, over: tp).ofOneExpert),
                         bias: Parameter(name: "\(name).out.bias", shape: [dModel], rule: .zeros,
                                         placement: .wholeOnEveryRank(of: tp, replicatedOver: .expertData)))
            return
        }
        func linear(_ n: String, _ o: Int, _ i: Int, _ s: Float) -> Linear {
            Linear(weight: Parameter(name: "\(name).\(n).weight", shape: [o, i], rule: .normal(s), placement: placement),
                   bias: Parameter(name: "\(name).\(n).bias", shape: [o], rule: .zeros, placement: placement))
        }
        fc = linear("fc", hidden, dModel, std)
        out = linear("out", dModel, hidden, residualStd)
    }

    /// Parameters in checkpoint order.
    public var parameters: [Parameter] { [fc.weight, fc.bias!, out.weight, out.bias!] }

    /// x [n, d] → y [n, d] (split: this rank's partial sum, without b_out).
    func forward(_ x: Tensor) -> (Tensor, Cache) {
        let pre = fc.forward(x)
        let act = Tensor(uninitialized: pre.shape)
        GELUKernel.forward(y: act.data, x: pre.data, n: pre.count)
        return (out.forward(act, includeBias: !split), Cache(x: x, pre: pre, act: act))
    }

    /// Adds b_out to `rows` rows of [*, d] starting at `y` (after a split expert's partial sums are summed).
    func addOutBias(to y: UnsafeMutablePointer<Float>, rows: Int) {
        Elementwise.addBias(y, out.bias!.value.data, rows: rows, c: out.outFeatures)
    }

    /// dy [n, d] (whole on every tp rank) → dx [n, d] (split: this rank's partial sum); adds the four parameter
    /// gradients (now, or deferred by `backward`): b_out's whole, the others this rank's part.
    func backward(_ dy: Tensor, _ cache: Cache, _ backward: BackwardContext) -> Tensor {
        let out = self.out, fc = self.fc
        backward.weightGradient { out.backwardWeight(dy, input: cache.act) }
        let dact = out.backwardInput(dy)
        GELUKernel.backward(dx: dact.data, dy: dact.data, x: cache.pre.data, n: dact.count)
        backward.weightGradient { fc.backwardWeight(dact, input: cache.x) }
        return fc.backwardInput(dact)
    }
}
