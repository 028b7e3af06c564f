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
///
/// A Mixtral-style SwiGLU expert (Llama's `--experts`) is
/// out = (silu(x·W₁ᵀ) ⊙ x·W₃ᵀ)·W₂ᵀ without biases: `gate` is W₁ ("w1"),
/// `fc` W₃ ("w3") and `out` W₂ ("w2"), Hugging Face's Mixtral names, split
/// over tp the same way (W₁ like W₃).
public final class ExpertMLP: @unchecked Sendable {
    /// Up projection, weight [H/t, d]; down projection, weight [d, H/t] (t: tp when split, else 1).
    public let fc: Linear, out: Linear
    /// SwiGLU's gate projection W₁ [H/t, d] (nil: a GELU expert).
    public let gate: Linear?
    /// Whether the expert is split over a tensor-parallel group of more than one rank.
    public let split: Bool

    /// What forward saved: the input [n, d], the pre-activation and the GELU output [n, H/t]
    /// (SwiGLU: the gate's pre-activation, the gated product and the up projection `up`).
    struct Cache {
        let x: Tensor, pre: Tensor, act: Tensor
        var up: Tensor? = nil
        var tensors: [Tensor] { [x, pre, act] + [up].compactMap { $0 } }
    }

    /// Expert `name` ("h.1.mlp.experts.3") of width `hidden`; `layers` scales the down projection's init as GPT-2
    /// does. With `tp` of more than one rank the expert is split over it (its parameters draw their slice of the
    /// whole expert's initial values); otherwise every parameter is placed by `placement`.
    public init(name: String, dModel: Int, hidden: Int, layers: Int, placement: Placement, tp: TensorParallel? = nil,
                swiglu: Bool = false) {
        let std: Float = 0.02, residualStd = swiglu ? std : std / (2 * Float(layers)).squareRoot()
        split = (tp?.size ?? 1) > 1
        let (up, down, bias) = swiglu ? ("w3", "w2", false) : ("fc", "out", true)
        if let tp, split {
            let part = tp.part(hidden)
            gate = swiglu ? Linear(weight: .shard(name: "\(name).w1.weight", global: [hidden, dModel], rowRanges: [part],
                                                  cols: 0..<dModel, rule: .normal(std),
                                                  placement: .sharded(dim: 0, over: tp).ofOneExpert), bias: nil) : nil
            fc = Linear(weight: .shard(name: "\(name).\(up).weight", global: [hidden, dModel], rowRanges: [part],
                                       cols: 0..<dModel, rule: .normal(std), placement: .sharded(dim: 0, over: tp).ofOneExpert),
                        bias: bias ? .shard(name: "\(name).fc.bias", global: [hidden], rowRanges: [part], cols: 0..<1,
                                            rule: .zeros, placement: .sharded(dim: 0, over: tp).ofOneExpert) : nil)
            out = Linear(weight: .shard(name: "\(name).\(down).weight", global: [dModel, hidden], rowRanges: [0..<dModel],
                                        cols: part, rule: .normal(residualStd),
                                        placement: .sharded(dim: 1, over: tp).ofOneExpert),
                         bias: bias ? Parameter(name: "\(name).out.bias", shape: [dModel], rule: .zeros,
                                                placement: .wholeOnEveryRank(of: tp, replicatedOver: .expertData)) : nil)
            return
        }
        func linear(_ n: String, _ o: Int, _ i: Int, _ s: Float) -> Linear {
            Linear(weight: Parameter(name: "\(name).\(n).weight", shape: [o, i], rule: .normal(s), placement: placement),
                   bias: bias ? Parameter(name: "\(name).\(n).bias", shape: [o], rule: .zeros, placement: placement) : nil)
        }
        gate = swiglu ? linear("w1", hidden, dModel, std) : nil
        fc = linear(up, hidden, dModel, std)
        out = linear(down, dModel, hidden, residualStd)
    }

    /// Parameters in checkpoint order (SwiGLU: w1, w3, w2).
    public var parameters: [Parameter] {
        guard let gate else { return [fc.weight, fc.bias!, out.weight, out.bias!] }
        return [gate.weight, fc.weight, out.weight]
    }

    /// The expert's linear layers.
    public var linears: [Linear] { [gate].compactMap { $0 } + [fc, out] }

    /// x [n, d] → y [n, d] (split: this rank's partial sum, without b_out).
    func forward(_ x: Tensor) -> (Tensor, Cache) {
        if let gate {
            let g = gate.forward(x), u = fc.forward(x)
            let h = Tensor(uninitialized: g.shape)
            SwiGLUKernel.forward(h: h.data, gate: g.data, up: u.data, n: g.count)
            return (out.forward(h, includeBias: false), Cache(x: x, pre: g, act: h, up: u))
        }
        let pre = fc.forward(x)
        let act = Tensor(uninitialized: pre.shape)
        GELUKernel.forward(y: act.data, x: pre.data, n: pre.count)
        return (out.forward(act, includeBias: !split), Cache(x: x, pre: pre, act: act))
    }

    /// Adds b_out to `rows` rows of [*, d] starting at `y` (after a split expert's partial sums are summed).
    func addOutBias(to y: UnsafeMutablePointer<Float>, rows: Int) {
        guard let bias = out.bias else { return }
        Elementwise.addBias(y, bias.value.data, rows: rows, c: out.outFeatures)
    }

    /// dy [n, d] (whole on every tp rank) → dx [n, d] (split: this rank's partial sum); adds the four parameter
    /// gradients (now, or deferred by `backward`): b_out's whole, the others this rank's part.
    func backward(_ dy: Tensor, _ cache: Cache, _ backward: BackwardContext) -> Tensor {
        let out = self.out, fc = self.fc
        backward.weightGradient { out.backwardWeight(dy, input: cache.act) }
        let dact = out.backwardInput(dy)
        if let gate, let u = cache.up {
            let dg = Tensor(uninitialized: dact.shape), du = Tensor(uninitialized: dact.shape)
            SwiGLUKernel.backward(dgate: dg.data, dup: du.data, dh: dact.data, gate: cache.pre.data, up: u.data,
                                  n: dact.count)
            backward.weightGradient {
                gate.backwardWeight(dg, input: cache.x)
                fc.backwardWeight(du, input: cache.x)
            }
            let dx = gate.backwardInput(dg)
            let dxUp = fc.backwardInput(du)  // held to the end of the sum (see SwiGLUMLP.backward)
            withExtendedLifetime(dxUp) { Elementwise.accumulate(dx.data, dxUp.data, n: dx.count) }
            return dx
        }
        GELUKernel.backward(dx: dact.data, dy: dact.data, x: cache.pre.data, n: dact.count)
        backward.weightGradient { fc.backwardWeight(dact, input: cache.x) }
        return fc.backwardInput(dact)
    }
}
