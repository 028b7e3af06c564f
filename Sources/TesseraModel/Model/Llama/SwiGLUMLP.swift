import TesseraSupport
import TesseraKernels

/// Llama's feed-forward: out = (silu(x·W_gateᵀ) ⊙ x·W_upᵀ)·W_downᵀ, no
/// biases (Hugging Face's gate_proj, up_proj, down_proj). Under tensor
/// parallelism gate and up are column-parallel and down row-parallel, so
/// each rank holds ffn/tp hidden units and the layer communicates once
/// forward and once backward, like GPT-2's `MLP`. Also one expert of a
/// Mixtral-style mixture (`hidden` its width, `tp` a group of one).
public final class SwiGLUMLP: FeedForward, @unchecked Sendable {
    public let gate: Linear, up: Linear
    /// Down projection, weight [d, ffn/tp].
    public let down: RowParallelLinear
    let tp: TensorParallel

    /// Saved activations: the input (outer rows), gate and up pre-activations and the gated product [rows, ffn/tp].
    public struct Cache: LayerCache {
        let x: Tensor, g: Tensor, u: Tensor, h: Tensor
        public var tensors: [Tensor] { [x, g, u, h] }
    }

    /// `name`'s projections (`name.gate_proj.weight`, …) of a d → `hidden` → d block; this rank's units under `tp`.
    public init(name: String, dModel d: Int, hidden: Int, tp: TensorParallel) {
        let rows = [tp.part(hidden)], std: Float = 0.02
        gate = Linear(weight: .shard(name: name + ".gate_proj.weight", global: [hidden, d], rowRanges: rows,
                                     cols: 0..<d, rule: .normal(std), placement: .sharded(dim: 0, over: tp)), bias: nil)
        up = Linear(weight: .shard(name: name + ".up_proj.weight", global: [hidden, d], rowRanges: rows,
                                   cols: 0..<d, rule: .normal(std), placement: .sharded(dim: 0, over: tp)), bias: nil)
        down = RowParallelLinear(name: name + ".down_proj", inFeatures: hidden, outFeatures: d, std: std, tp: tp,
                                 bias: false)
        self.tp = tp
    }

    public var parameters: [Parameter] { [gate.weight, up.weight, down.linear.weight] }
    public var linears: [Linear] { [gate, up, down.linear] }

    public func forward(_ x: Tensor, _ ctx: ForwardContext) throws -> (Tensor, any LayerCache) { try forward(x) }

    public func backward(_ dy: Tensor, _ cache: any LayerCache, _ ctx: ForwardContext,
                         _ backward: BackwardContext) throws -> Tensor {
        try self.backward(dy, cache as! Cache, backward)
    }

    /// x [outer rows, d] → y [outer rows, d].
    public func forward(_ x: Tensor) throws -> (Tensor, Cache) {
        let span = Trace.begin(.mlpForward); defer { span.end() }
        let full = try tp.gather(x)
        let g = gate.forward(full), u = up.forward(full)
        let h = Tensor(uninitialized: g.shape)
        SwiGLUKernel.forward(h: h.data, gate: g.data, up: u.data, n: g.count)
        return (try down.forward(h), Cache(x: x, g: g, u: u, h: h))
    }

    /// dy [outer rows, d] → dx [outer rows, d]; accumulates the three weight gradients.
    public func backward(_ dy: Tensor, _ cache: Cache, _ backward: BackwardContext = BackwardContext()) throws -> Tensor {
        let span = Trace.begin(.mlpBackward); defer { span.end() }
        let dh = try down.backward(dy, input: cache.h, backward)
        let dg = Tensor(uninitialized: dh.shape), du = Tensor(uninitialized: dh.shape)
        SwiGLUKernel.backward(dgate: dg.data, dup: du.data, dh: dh.data, gate: cache.g.data, up: cache.u.data,
                              n: dh.count)
        let full = try tp.gather(cache.x), (gate, up) = (self.gate, self.up)
        backward.weightGradient {
            gate.backwardWeight(dg, input: full)
            up.backwardWeight(du, input: full)
        }
        let dx = gate.backwardInput(dg)
        // Held by name to the end of the sum: a temporary is released as soon as its pointer is read, and its
        // storage goes back to the tensor pool, where another thread may take it while it is being added.
        let dxUp = up.backwardInput(du)
        withExtendedLifetime(dxUp) { Elementwise.accumulate(dx.data, dxUp.data, n: dx.count) }
        return try tp.reduce(dx)
    }
}
