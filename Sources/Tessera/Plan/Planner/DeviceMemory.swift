/// Bytes one device holds while training, by term (raw bytes; the JSON
/// `memory_bytes` object of `tessera plan --json`).
public struct DeviceMemory: Sendable, Equatable, Codable {
    /// Weights as products read them (bf16 working copies, or the float32 weights in fp32).
    public var weights = 0.0
    /// Gradients at the gradient dtype.
    public var gradients = 0.0
    /// Adam's two float32 moments.
    public var optimizer = 0.0
    /// float32 master weights beside bf16 working copies (0 in fp32).
    public var master = 0.0
    /// Activations kept for backward at the moment most are held.
    public var activations = 0.0
    /// Communication buffers: gathered sequence-parallel inputs, pipeline
    /// send/receive buffers, and `zeroBuckets`.
    public var buffers = 0.0
    /// The part of `buffers` that is ZeRO's full buckets held for a while:
    /// stage 3's gathered weights and stage 2–3's unreduced gradients, of
    /// the outer unit (embeddings, final norm, head) and two blocks (the one
    /// in use and the prefetched next). Tessera's step-1 memory report counts
    /// these (as "gathered" and "unreduced grads"), not the other buffers.
    public var zeroBuckets = 0.0

    public init() {}

    public var total: Double { weights + gradients + optimizer + master + activations + buffers }

    /// The terms by name, in report order.
    public var terms: [(name: String, bytes: Double)] {
        [("weights", weights), ("gradients", gradients), ("optimizer", optimizer), ("master", master),
         ("activations", activations), ("buffers", buffers)]
    }

    enum CodingKeys: String, CodingKey {
        case weights, gradients, optimizer, master, activations, buffers, zeroBuckets = "zero_buckets", total
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        for (key, v) in [(CodingKeys.weights, weights), (.gradients, gradients), (.optimizer, optimizer),
                         (.master, master), (.activations, activations), (.buffers, buffers),
                         (.zeroBuckets, zeroBuckets), (.total, total)] {
            try c.encode(v.rounded(), forKey: key)
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        weights = try c.decode(Double.self, forKey: .weights); gradients = try c.decode(Double.self, forKey: .gradients)
        optimizer = try c.decode(Double.self, forKey: .optimizer); master = try c.decode(Double.self, forKey: .master)
        activations = try c.decode(Double.self, forKey: .activations); buffers = try c.decode(Double.self, forKey: .buffers)
        zeroBuckets = try c.decodeIfPresent(Double.self, forKey: .zeroBuckets) ?? 0
    }
}
