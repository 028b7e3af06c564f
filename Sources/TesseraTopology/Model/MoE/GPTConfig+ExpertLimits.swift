import TesseraSupport

extension GPTConfig {
    /// The most experts · top-k a model may route with. Routing and the
    /// expert bookkeeping grow with the product (measured on a 2-core Xeon
    /// under load, one step of a width-32 model: 256 · 256 took 3 s, 1024 ·
    /// 1024 more than 100 s), so beyond it a run would only look hung.
    public static let maxExpertChoices = 65_536

    /// Throws a `ConfigError` naming the limit when experts · top-k exceeds `maxExpertChoices`.
    func requireRoutingBounded() throws {
        let (product, overflow) = experts.multipliedReportingOverflow(by: topK)
        guard overflow || product > Self.maxExpertChoices else { return }
        throw ConfigError("experts \(experts) × top-k \(topK) = \(overflow ? "more than \(Int.max)" : "\(product)") "
                          + "expert choices per token; at most \(Self.maxExpertChoices) are supported (lower top-k: "
                          + "Switch and GShard route to 1 or 2 experts, DeepSeek-V3 to 8 of 256)")
    }
}
