import TesseraSupport

extension ModelShape {
    /// The largest value the planner takes for each shape field: beyond the
    /// largest published models by orders of magnitude, small enough that
    /// every product the cost model forms (layers · seq · d, vocab · d, …)
    /// stays far inside 64-bit integers.
    public static let limits: [(name: String, limit: Int)] = [
        ("layers", 100_000), ("d-model", 1_048_576), ("heads", 65_536), ("kv-heads", 65_536), ("ffn", 16_777_216),
        ("vocab", 16_777_216), ("seq-len", 16_777_216), ("experts", 65_536), ("top-k", 1_024), ("moe-every", 100_000),
        ("expert-ffn", 16_777_216),
    ]

    /// Throws a `ConfigError` naming the first field above its limit.
    public func requireWithinLimits() throws {
        let values = [layers, dModel, heads, kvHeads, ffn, vocab, seqLen, experts, topK, moeEvery, expertFFN]
        for ((name, limit), v) in zip(Self.limits, values) where v > limit {
            throw ConfigError("--\(name) must be at most \(limit), got \(v)")
        }
    }

    /// Throws a `ConfigError` unless each given flag value (name as in
    /// `limits`, nil when not given) is in 1...its limit: checked before any
    /// value is derived from another (a preset's ffn scaled to a new width),
    /// so no derivation can overflow.
    public static func requireFlags(_ given: [(name: String, value: Int?)]) throws {
        for (name, value) in given {
            guard let value, let limit = limits.first(where: { $0.name == name })?.limit else { continue }
            guard (1...limit).contains(value) else { throw ConfigError("--\(name) must be in 1...\(limit), got \(value)") }
        }
    }
}
