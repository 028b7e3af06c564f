/// Where a setting belongs in a config file: its `[section]` (keys may also
/// be written at the top level).
public enum ConfigSection: String, CaseIterable, Sendable {
    case model, layout, train
}

/// One named setting of a `Root` value (a `Layout`, a `TrainConfig`): its
/// key — the config-file key, and with `--` in front the command-line flag —
/// the values it accepts, and how to read and write its field. A table of
/// settings drives the flags, the config files, the checkpoint's metadata,
/// the help text and the range checks, so a new setting is one table row.
public struct Setting<Root>: Sendable {
    /// Kebab-case key: `d-model` in files, `--d-model` on the command line.
    public let key: String
    /// Older spellings still accepted on the command line and in files (not shown in help).
    public let aliases: [String]
    public let section: ConfigSection
    /// One line for `--help`.
    public let help: String
    /// What the setting accepts, completing "KEY must be …" (e.g. "an integer in 1...1000").
    public let valid: String
    /// A boolean flag: `--sp` alone means true, `--no-sp` false.
    public let isSwitch: Bool
    /// A number stored as float32 (so a value may round out of its range).
    var isFloat32 = false
    let read: @Sendable (Root) -> ConfigValue?
    let write: @Sendable (inout Root, ConfigValue) -> Bool
    let holdsValidValue: @Sendable (Root) -> Bool

    /// A setting of field `field`: `decode` reads a value (nil: wrong type), `accepts` is its range.
    public init<T>(_ key: String, _ field: WritableKeyPath<Root, T> & Sendable, section: ConfigSection,
                   aliases: [String] = [], isSwitch: Bool = false, valid: String, help: String,
                   decode: @escaping @Sendable (ConfigValue) -> T?, encode: @escaping @Sendable (T) -> ConfigValue?,
                   accepts: @escaping @Sendable (T) -> Bool = { _ in true }) {
        self.key = key; self.aliases = aliases; self.section = section; self.help = help; self.valid = valid
        self.isSwitch = isSwitch
        read = { encode($0[keyPath: field]) }
        write = { root, value in
            guard let t = decode(value), accepts(t) else { return false }
            root[keyPath: field] = t
            return true
        }
        holdsValidValue = { accepts($0[keyPath: field]) }
    }

    private init(key: String, aliases: [String], section: ConfigSection, help: String, valid: String, isSwitch: Bool,
                 read: @escaping @Sendable (Root) -> ConfigValue?, write: @escaping @Sendable (inout Root, ConfigValue) -> Bool,
                 holdsValidValue: @escaping @Sendable (Root) -> Bool) {
        self.key = key; self.aliases = aliases; self.section = section; self.help = help; self.valid = valid
        self.isSwitch = isSwitch; self.read = read; self.write = write; self.holdsValidValue = holdsValidValue
    }

    /// The same setting on a value that holds a `Root` at `path` (a `Layout` inside a `TrainConfig`).
    public func lifted<Outer>(_ path: WritableKeyPath<Outer, Root> & Sendable) -> Setting<Outer> {
        let (read, write, holds) = (self.read, self.write, self.holdsValidValue)
        var outer = Setting<Outer>(key: key, aliases: aliases, section: section, help: help, valid: valid, isSwitch: isSwitch,
                                   read: { read($0[keyPath: path]) },
                                   write: { outer, value in write(&outer[keyPath: path], value) },
                                   holdsValidValue: { holds($0[keyPath: path]) })
        outer.isFloat32 = isFloat32
        return outer
    }

    /// Stores `value`, or throws "KEY must be VALID, got VALUE" prefixed by
    /// `source` (and, for a number float32 cannot hold, what it rounds to).
    public func set(_ value: ConfigValue, in root: inout Root, source: String?) throws {
        guard write(&root, value) else {
            var message = problem(value)
            if isFloat32, let d = value.asDouble, d.isFinite, Double(Float(d)) != d {
                message += " (stored as float32, \(value.text) rounds to \(Float(d)))"
            }
            throw ConfigError((source.map { "\($0): " } ?? "") + message)
        }
    }

    /// The current value (nil when unset, e.g. no data file).
    public func value(of root: Root) -> ConfigValue? { read(root) }

    /// "KEY must be VALID, got VALUE" when `root`'s field is out of range, else nil.
    public func problem(in root: Root) -> String? {
        holdsValidValue(root) ? nil : problem(read(root) ?? .text("nothing"))
    }

    func problem(_ value: ConfigValue) -> String { "\(key) must be \(valid), got \(value.text)" }
}

extension Setting {
    /// An integer setting with the inclusive range `range`.
    public static func int(_ key: String, _ field: WritableKeyPath<Root, Int> & Sendable, _ range: ClosedRange<Int>,
                           _ section: ConfigSection, aliases: [String] = [], valid: String? = nil, help: String) -> Setting {
        Setting(key, field, section: section, aliases: aliases,
                valid: valid ?? "an integer in \(range.lowerBound)...\(range.upperBound)", help: help,
                decode: { $0.asInt }, encode: { .int($0) }, accepts: { range.contains($0) })
    }

    /// A number setting whose accepted values `accepts` describes as `valid`.
    public static func number(_ key: String, _ field: WritableKeyPath<Root, Float> & Sendable, _ section: ConfigSection,
                              valid: String, help: String, accepts: @escaping @Sendable (Float) -> Bool) -> Setting {
        var s = Setting(key, field, section: section, valid: valid, help: help,
                        decode: { $0.asDouble.map(Float.init) }, encode: { .float(Double("\($0)") ?? Double($0)) },
                        accepts: { $0.isFinite && accepts($0) })
        s.isFloat32 = true
        return s
    }

    /// A boolean switch: `--KEY` / `--no-KEY`, `KEY = true` in files.
    public static func bool(_ key: String, _ field: WritableKeyPath<Root, Bool> & Sendable, _ section: ConfigSection,
                            help: String) -> Setting {
        Setting(key, field, section: section, isSwitch: true, valid: "true or false", help: help,
                decode: { $0.asBool }, encode: { .bool($0) })
    }

    /// An optional non-empty string (a path); unset by default.
    public static func string(_ key: String, _ field: WritableKeyPath<Root, String?> & Sendable, _ section: ConfigSection,
                              valid: String = "a non-empty path", help: String) -> Setting {
        Setting(key, field, section: section, valid: valid, help: help,
                decode: { v in v.asString.map(Optional.some) }, encode: { $0.map(ConfigValue.string) },
                accepts: { $0.map { !$0.isEmpty } ?? true })
    }

    /// One of an enumeration's names.
    public static func choice<E: RawRepresentable & CaseIterable & Sendable>(
        _ key: String, _ field: WritableKeyPath<Root, E> & Sendable, _ section: ConfigSection, aliases: [String] = [],
        help: String) -> Setting where E.RawValue == String {
        Setting(key, field, section: section, aliases: aliases,
                valid: { let n = E.allCases.map(\.rawValue); return n.dropLast().joined(separator: ", ") + " or " + n.last! }(),
                help: help,
                decode: { $0.asString.flatMap(E.init(rawValue:)) }, encode: { .string($0.rawValue) })
    }
}
