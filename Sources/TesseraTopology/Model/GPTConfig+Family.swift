import TesseraSupport

/// The family-dependent part of a model's shape: the widths and switches
/// that GPT-2 fixes and Llama sets (`kv-heads`, `ffn-hidden`, `rope-theta`,
/// `norm-eps`, `tie-embeddings`), read by the runtime's layers and, through
/// `ModelShape(_:)`, by the planner and the memory model.
extension GPTConfig {
    /// Whether the model is Llama-style.
    public var isLlama: Bool { arch == .llama }

    /// Key/value heads: `kvHeads`, or `heads` (multi-head attention).
    public var kvHeadCount: Int { kvHeads ?? heads }

    /// Query heads sharing one key/value head, heads / kv-heads.
    public var queriesPerKV: Int { heads / kvHeadCount }

    /// Hidden width of a dense feed-forward block: `ffnHidden`; otherwise
    /// 4·d for GPT-2 and, for Llama, Meta's rule: ⌊2·4d/3⌋ rounded up to a
    /// multiple of `ffnMultipleOf` (d 4096 → 11008 with 256).
    public var ffnWidth: Int {
        if let ffnHidden { return ffnHidden }
        guard isLlama else { return 4 * dModel }
        let h = 2 * 4 * dModel / 3, m = ffnMultipleOf
        return (h + m - 1) / m * m
    }

    /// Whether the LM head is the token embedding: `tieEmbeddings`, or the family's default (GPT-2 ties, Llama not).
    public var tiesEmbeddings: Bool { tieEmbeddings ?? !isLlama }

    /// Throws a `ConfigError` for a Llama setting that is out of range or
    /// given to GPT-2, whose blocks have no place for it.
    func validateFamily() throws {
        if let kv = kvHeads, kv < 1 { throw ConfigError("kv-heads must be a positive integer, got \(kv)") }
        if let f = ffnHidden, f < 1 { throw ConfigError("ffn-hidden must be a positive integer, got \(f)") }
        if !(ropeTheta > 0 && ropeTheta.isFinite) {
            throw ConfigError("rope-theta must be a positive number, got \(ropeTheta)")
        }
        if !(normEps > 0 && normEps.isFinite) { throw ConfigError("norm-eps must be a positive number, got \(normEps)") }
        if ffnMultipleOf < 1 { throw ConfigError("ffn-multiple-of must be a positive integer, got \(ffnMultipleOf)") }
        guard isLlama else {
            if let kv = kvHeads, kv != heads {
                throw ConfigError("kv-heads \(kv) needs arch llama (GPT-2 attention has kv-heads = heads = \(heads))")
            }
            if let f = ffnHidden, f != 4 * dModel {
                throw ConfigError("ffn-hidden \(f) needs arch llama (GPT-2's MLP is 4·d-model = \(4 * dModel) wide)")
            }
            if ropeTheta != 10_000 { throw ConfigError("rope-theta needs arch llama (GPT-2 learns its positions)") }
            if normEps != 1e-5 { throw ConfigError("norm-eps needs arch llama (GPT-2's LayerNorm uses 1e-5)") }
            if tieEmbeddings == false { throw ConfigError("tie-embeddings false needs arch llama (GPT-2 ties its head)") }
            return
        }
        if dModel % heads == 0 && (dModel / heads) % 2 != 0 {
            throw ConfigError("rotary embeddings need an even head width; d-model \(dModel) / heads \(heads) = "
                              + "\(dModel / heads)")
        }
        let kv = kvHeadCount
        if heads % kv != 0 {
            let valid = (1...heads).filter { heads % $0 == 0 }.map(String.init).joined(separator: ", ")
            throw ConfigError("kv-heads \(kv) does not divide heads \(heads); valid kv-heads: \(valid)")
        }
    }

    /// " arch=llama kv-heads=… ffn-hidden=… rope-theta=… norm-eps=… tie-embeddings=…" for Llama, "" for GPT-2.
    package var familySummary: String {
        guard isLlama else { return "" }
        return " arch=llama kv-heads=\(kvHeadCount) ffn-hidden=\(ffnWidth) rope-theta=\(ropeTheta) norm-eps=\(normEps) "
            + "tie-embeddings=\(tiesEmbeddings)"
    }
}
