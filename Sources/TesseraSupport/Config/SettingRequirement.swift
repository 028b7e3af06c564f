/// A setting that acts only when the rest of the configuration enables it:
/// `checkpoint-every` needs a checkpoint, `top-k` needs experts. Given
/// explicitly without what it needs, it would be silently ignored; it is
/// refused instead, naming what it would need.
public struct SettingRequirement<Root>: Sendable {
    /// The key (as in the table) of the setting that needs something.
    public let key: String
    /// What it needs, completing "KEY has no effect without …" (e.g. "--experts E (E ≥ 1)").
    public let needs: String
    let holds: @Sendable (Root) -> Bool

    /// `key` acts only when `holds` is true of the whole configuration.
    public init(_ key: String, needs: String, holds: @escaping @Sendable (Root) -> Bool) {
        self.key = key; self.needs = needs; self.holds = holds
    }
}

extension GivenSettings {
    /// Throws a `ConfigError` for the first setting given (in the file or as
    /// a flag) whose requirement `root` — the configuration as it will run — does not meet.
    public func requireMeaningful(_ root: Root, _ requirements: [SettingRequirement<Root>]) throws {
        for e in file + flags {
            guard let s = table.setting(e.key), let r = requirements.first(where: { $0.key == s.key }), !r.holds(root) else { continue }
            throw ConfigError("\(e.source): \(s.key) has no effect without \(r.needs); add that or drop \(s.key)")
        }
    }
}
