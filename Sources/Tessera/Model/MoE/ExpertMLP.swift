import TesseraKernels

/// One expert of a mixture-of-experts block: out = GELU(x·W_fcᵀ + b_fc)·W_outᵀ + b_out,
/// d → H → d, run on the contiguous rows routed to it (one matrix product
/// per linear layer). Held whole by the rank that holds the expert (never
/// split over tensor-parallel ranks: `Placement.expert(over:)`).
public final class ExpertMLP: @unchecked Sendable {
    /// Up projection, weight [H, d]; down projection, weight [d, H].
    public let fc: Linear, out: Linear

    /// What forward saved: the input [n, d], the pre-activation and the GELU output [n, H].
    struct Cache { let x: Tensor, pre: Tensor, act: Tensor }

    /// Expert `name` ("h.1.mlp.experts.3") of width `hidden`; `layers` scales the down projection's init as GPT-2 does.
    public init(name: String, dModel: Int, hidden: Int, layers: Int, placement: Placement) {
        let std: Float = 0.02, residualStd = std / (2 * Float(layers)).squareRoot()
        func linear(_ n: String, _ o: Int, _ i: Int, _ s: Float) -> Linear {
            Linear(weight: Parameter(name: "\(name).\(n).weight", shape: [o, i], rule: .normal(s), placement: placement),
                   bias: Parameter(name: "\(name).\(n).bias", shape: [o], rule: .zeros, placement: placement))
        }
        fc = linear("fc", hidden, dModel, std)
        out = linear("out", dModel, hidden, residualStd)
    }

    /// Parameters in checkpoint order.
    public var parameters: [Parameter] { [fc.weight, fc.bias!, out.weight, out.bias!] }

    /// x [n, d] → y [n, d].
    func forward(_ x: Tensor) -> (Tensor, Cache) {
        let pre = fc.forward(x)
        let act = Tensor(uninitialized: pre.shape)
        GELUKernel.forward(y: act.data, x: pre.data, n: pre.count)
        return (out.forward(act), Cache(x: x, pre: pre, act: act))
    }

    /// dy [n, d] → dx [n, d]; adds the four parameter gradients (now, or deferred by `backward`).
    func backward(_ dy: Tensor, _ cache: Cache, _ backward: BackwardContext) -> Tensor {
        let out = self.out, fc = self.fc
        backward.weightGradient { out.backwardWeight(dy, input: cache.act) }
        let dact = out.backwardInput(dy)
        GELUKernel.backward(dx: dact.data, dy: dact.data, x: cache.pre.data, n: dact.count)
        backward.weightGradient { fc.backwardWeight(dact, input: cache.x) }
        return fc.backwardInput(dact)
    }
}
