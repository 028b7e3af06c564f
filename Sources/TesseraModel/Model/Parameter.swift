import TesseraKernels

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
    /// Local shape.
    public let shape: [Int]
    /// Shape of the full, unsharded tensor (from the placement unless given).
    public let globalShape: [Int]
    /// Local element index → global element index.
    public let globalIndex: @Sendable (Int) -> Int

    public init(name: String, shape: [Int], rule: InitRule, placement: Placement = .whole, globalShape: [Int]? = nil,
                globalIndex: @escaping @Sendable (Int) -> Int = { $0 }) {
        self.name = name
        self.shape = shape
        let storage = Parameter.declaringOnly ? [0] : shape
        self.value = Tensor(unpooled: storage)
        self.grad = Tensor(unpooled: storage)
        self.rule = rule
        self.placement = placement
        self.decay = shape.count >= 2
        self.globalShape = globalShape ?? placement.globalShape(local: shape)
        self.globalIndex = globalIndex
    }

    /// Whether parameters built now only declare themselves (see `declaring`).
    @TaskLocal static var declaringOnly = false

    /// Runs `build` with parameters that have a name, shape and placement but
    /// no storage (empty value and gradient): what `GPT.parameterLayout(_:)`
    /// reads without allocating a model.
    public static func declaring<T>(_ build: () throws -> T) rethrows -> T {
        try $declaringOnly.withValue(true, operation: build)
    }

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
