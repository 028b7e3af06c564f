/// Settings whose field may be unset, meaning "the default that follows from
/// the other settings" (Llama's kv-heads default to the heads, its head is
/// untied unless tied): unset fields are not written to a checkpoint's config.
extension Setting {
    /// An optional integer in `range`; unset by default.
    public static func optionalInt(_ key: String, _ field: WritableKeyPath<Root, Int?> & Sendable,
                                   _ range: ClosedRange<Int>, _ section: ConfigSection, help: String) -> Setting {
        Setting(key, field, section: section, valid: "an integer in \(range.lowerBound)...\(range.upperBound)",
                help: help, decode: { v in v.asInt.map(Optional.some) }, encode: { $0.map(ConfigValue.int) },
                accepts: { $0.map(range.contains) ?? true })
    }

    /// An optional boolean switch (`--KEY` / `--no-KEY`, `KEY = true` in files); unset by default.
    public static func optionalBool(_ key: String, _ field: WritableKeyPath<Root, Bool?> & Sendable,
                                    _ section: ConfigSection, help: String) -> Setting {
        Setting(key, field, section: section, isSwitch: true, valid: "true or false", help: help,
                decode: { v in v.asBool.map(Optional.some) }, encode: { $0.map(ConfigValue.bool) })
    }
}
