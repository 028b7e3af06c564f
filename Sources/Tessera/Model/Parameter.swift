/// How a parameter's initial values are drawn (GPT-2's scheme).
public enum InitRule: Sendable, Equatable {
    /// Normal with mean 0 and this standard deviation.
    case normal(Float)
    /// All zeros (biases).
    case zeros
    /// All ones (LayerNorm gains).
    case ones
}

/// A trainable tensor with its gradient and its `Placement`.
///
/// A parameter starts with storage of its own; a `ParameterStore` then moves
/// its value and gradient into flat bucket buffers, after which both are
/// views into them.
///
/// Values are drawn element by element from Philox keyed by (seed, name) at
/// the element's *global* row-major index, so a shard draws exactly its slice
/// of the full tensor. `globalIndex` maps a local index to that global index
/// (identity when unsharded; −1 for padding that is not part of the global tensor).
public final class Parameter: @unchecked Sendable {
    /// Stable name, e.g. "h.0.attn.qkv.weight"; also the checkpoint key.
    public let name: String
    /// Local value [shape].
    public internal(set) var value: Tensor
    /// Accumulated gradient [shape].
    public internal(set) var grad: Tensor
    /// How the parameter is laid out across ranks.
    public let placement: Placement
    /// Initialisation rule.
    public let rule: InitRule
    /// Whether AdamW applies weight decay (2-D weights only).
    public let decay: Bool
    /// Shape of the full, unsharded tensor.
    public let globalShape: [Int]
    /// Local element index → global element index.
    public let globalIndex: @Sendable (Int) -> Int

    public init(name: String, shape: [Int], rule: InitRule, placement: Placement = .whole, globalShape: [Int]? = nil,
                globalIndex: @escaping @Sendable (Int) -> Int = { $0 }) {
        self.name = name
        self.value = Tensor(unpooled: shape)
        self.grad = Tensor(unpooled: shape)
        self.rule = rule
        self.placement = placement
        self.decay = shape.count >= 2
        self.globalShape = globalShape ?? shape
        self.globalIndex = globalIndex
    }

    /// Local shape.
    public var shape: [Int] { value.shape }

    /// Draws the initial values for `seed`.
    public func initialize(seed: UInt64) {
        switch rule {
        case .zeros: value.zero()
        case .ones:
            for i in 0..<value.count { value.data[i] = globalIndex(i) >= 0 ? 1 : 0 }
        case .normal(let std):
            let rng = Philox(seed: seed, stream: "init/" + name)
            let v = value.data, map = globalIndex
            Compute.parallelRanges(value.count) { r in
                for i in r {
                    let g = map(i)
                    v[i] = g >= 0 ? std * rng.normal(g) : 0
                }
            }
        }
    }
}
