import TesseraSupport

/// The mixture-of-experts part of a model's shape: which blocks route their
/// tokens to experts, how wide an expert is, and the checks on the settings.
extension GPTConfig {
    /// Whether the model has mixture-of-experts blocks.
    public var hasExperts: Bool { experts > 0 }

    /// Whether block `index` is a mixture of experts: every `moeEvery`-th
    /// block, counting from 1 (blocks N−1, 2N−1, … 0-based).
    public func isExpertLayer(_ index: Int) -> Bool { hasExperts && index % moeEvery == moeEvery - 1 }

    /// Blocks that are mixtures of experts.
    public var expertLayerCount: Int { hasExperts ? layers / moeEvery : 0 }

    /// Hidden width of one expert: `expertHidden`, or the dense feed-forward's width (4·d for GPT-2).
    public var expertWidth: Int { expertHidden > 0 ? expertHidden : ffnWidth }

    /// Parameters of one expert: GPT-2's MLP d → H → d with biases, 2·H·d + H + d;
    /// Llama's SwiGLU (gate, up, down) without biases, 3·H·d.
    public var expertParameters: Int {
        arch == .llama ? 3 * expertWidth * dModel : 2 * expertWidth * dModel + expertWidth + dModel
    }

    /// Throws a `ConfigError` for settings of the experts that cannot work
    /// together: top-k above the experts, moe-every above the layers, expert
    /// settings given without experts.
    func validateExperts() throws {
        guard hasExperts else {
            if moeEvery != 1 || expertHidden != 0 || capacityFactor != 0 {
                throw ConfigError("moe-every, expert-hidden and capacity-factor need --experts E (E ≥ 1), got experts 0")
            }
            return
        }
        if topK > experts {
            throw ConfigError("top-k \(topK) exceeds experts \(experts); valid top-k: 1...\(experts)")
        }
        try requireRoutingBounded()
        if moeEvery > layers {
            throw ConfigError("moe-every \(moeEvery) exceeds layers \(layers), so no block would hold experts; "
                              + "valid moe-every: 1...\(layers)")
        }
    }

    /// " experts=E top-k=K …" for messages about a model with experts, "" otherwise.
    package var expertSummary: String {
        guard hasExperts else { return "" }
        return " experts=\(experts) top-k=\(topK) expert-hidden=\(expertWidth) moe-every=\(moeEvery) "
            + "capacity-factor=\(capacityFactor)"
    }
}
