/// Reads settings from command-line words: `--KEY VALUE`, `--KEY=VALUE`, and
/// for switches `--KEY` / `--no-KEY`. The value after `--KEY` is taken as
/// written, so `--steps -5` reaches the range check ("steps must be …, got
/// -5") instead of being mistaken for another flag.
public enum CommandLineSettings {
    /// The entries `words` set, in order; an unknown flag, a missing value or
    /// a stray word is a `ConfigError` naming it and what is valid.
    public static func entries<Root>(_ words: [String], table: SettingTable<Root>) throws -> [ConfigEntry] {
        var out: [ConfigEntry] = [], i = 0
        let flags = table.keys.map { "--" + $0 }.joined(separator: ", ")
        while i < words.count {
            let word = words[i]
            i += 1
            guard word.hasPrefix("--"), word.count > 2 else {
                throw ConfigError("unexpected argument '\(word)'; settings are written --KEY VALUE, with KEY one of \(flags)")
            }
            var name = String(word.dropFirst(2)), inline: String?
            if let eq = name.firstIndex(of: "=") { inline = String(name[name.index(after: eq)...]); name = String(name[..<eq]) }
            let negated = name.hasPrefix("no-") && table.setting(name) == nil
            let key = negated ? String(name.dropFirst(3)) : name
            guard let setting = table.setting(key) else {
                throw ConfigError("unknown flag '--\(name)'; valid flags: \(flags), --config")
            }
            let value: ConfigValue
            if setting.isSwitch && inline == nil {
                value = .bool(!negated)
            } else if negated {
                throw ConfigError("--no-\(key) is only for switches; write --\(key) VALUE (\(setting.valid))")
            } else if let inline {
                value = .text(inline)
            } else {
                guard i < words.count else {
                    throw ConfigError("--\(name) needs a value: \(setting.key) must be \(setting.valid)")
                }
                value = .text(words[i])
                i += 1
            }
            out.append(ConfigEntry(key, value, source: "command line"))
        }
        return out
    }
}
