/// One key and value read from a config file or the command line, with where
/// it was written (for the error message).
public struct ConfigEntry: Sendable, Equatable {
    public var key: String
    public var value: ConfigValue
    /// "config file 'run.toml' line 3" or "--steps".
    public var source: String
    /// The `[section]` it was written under (nil: top level or the command line).
    public var section: ConfigSection?

    public init(_ key: String, _ value: ConfigValue, source: String, section: ConfigSection? = nil) {
        self.key = key; self.value = value; self.source = source; self.section = section
    }
}

/// The settings of a `Root` value, in documentation order: what flags and
/// config files may set, with one lookup, one range check and one help text.
public struct SettingTable<Root>: Sendable {
    public let settings: [Setting<Root>]
    /// Keys this command refuses, with the reason (verify keeps no checkpoint).
    public let refusals: [String: String]

    public init(_ settings: [Setting<Root>], refusals: [String: String] = [:]) {
        self.settings = settings
        self.refusals = refusals
    }

    /// Every accepted key, in documentation order.
    public var keys: [String] { settings.map(\.key).filter { refusals[$0] == nil } }

    /// The same table keeping only `keys` (a command that takes part of a value).
    public func only(_ keys: [String]) -> SettingTable {
        SettingTable(settings.filter { keys.contains($0.key) })
    }

    /// The same table refusing `keys` with `reason`, e.g. "verify keeps no checkpoint".
    public func refusing(_ keys: [String], because reason: String) -> SettingTable {
        SettingTable(settings, refusals: refusals.merging(keys.map { ($0, reason) }) { $1 })
    }

    /// The setting whose key or alias is `key`.
    public func setting(_ key: String) -> Setting<Root>? {
        settings.first { $0.key == key || $0.aliases.contains(key) }
    }

    /// Applies `entries` in order; an unknown key, a key under another
    /// section, a repeated key or a bad value throws a `ConfigError` naming
    /// where it was written, the key and what is valid.
    public func apply(_ entries: [ConfigEntry], to root: inout Root) throws {
        var seen: [String: String] = [:]
        for e in entries {
            guard let s = setting(e.key) else {
                throw ConfigError("\(e.source): unknown key '\(e.key)'; valid keys: \(keys.joined(separator: ", "))")
            }
            if let reason = refusals[s.key] {
                throw ConfigError("\(e.source): \(s.key) is not taken here: \(reason); valid keys: \(keys.joined(separator: ", "))")
            }
            if let section = e.section, section != s.section {
                throw ConfigError("\(e.source): key '\(e.key)' belongs in [\(s.section.rawValue)] (or at the top level), "
                                  + "not in [\(section.rawValue)]")
            }
            if let first = seen[s.key] {
                throw ConfigError("\(e.source): \(s.key) is set twice (first at \(first)); set it once")
            }
            seen[s.key] = e.source
            try s.set(e.value, in: &root, source: e.source)
        }
    }

    /// Throws "KEY must be VALID, got VALUE" for the first field out of its range.
    public func validate(_ root: Root) throws {
        for s in settings { if let p = s.problem(in: root) { throw ConfigError(p) } }
    }

    /// Every set field as key → value (for metadata), in table order.
    public func entries(of root: Root) -> [(key: String, value: ConfigValue)] {
        settings.compactMap { s in s.value(of: root).map { (s.key, $0) } }
    }

    /// Two help lines per setting: the flag with its value in `defaults` and
    /// what it accepts, then its meaning (each short enough not to wrap).
    public func help(defaults: Root) -> [String] {
        settings.filter { refusals[$0.key] == nil }.flatMap { s in
            let flag = s.isSwitch ? "--\(s.key) | --no-\(s.key)" : "--\(s.key) VALUE"
            let value = s.value(of: defaults).map { "default \($0.text.replacingOccurrences(of: "'", with: "")); " } ?? ""
            return ["  \(flag)   \(value)\(s.valid)", "      \(s.help)"]
        }
    }
}
