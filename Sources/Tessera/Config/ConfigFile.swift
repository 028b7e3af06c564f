import Foundation

/// Parsers for the two config-file syntaxes. Both yield flat (key, value)
/// pairs; TOML section headers (`[model]`, `[train]`) only group lines.
public enum ConfigFile {
    /// The entries of the config file at `path` (JSON when it ends in .json, else TOML).
    public static func read(_ path: String) throws -> [ConfigEntry] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigError("config file '\(path)' does not exist or is not readable UTF-8 text")
        }
        let pairs = path.hasSuffix(".json") ? try parseJSON(text, path: path) : try parseTOML(text, path: path)
        return pairs.map { ConfigEntry($0.0, $0.1, source: "config file '\(path)'") }
    }

    /// A JSON object of keys to numbers, strings or booleans.
    public static func parseJSON(_ text: String, path: String) throws -> [(String, ConfigValue)] {
        guard let object = try? JSONDecoder().decode([String: ConfigValue].self, from: Data(text.utf8)) else {
            throw ConfigError("config file '\(path)' is not a JSON object whose values are numbers, strings or booleans")
        }
        return object.keys.sorted().map { ($0, object[$0]!) }
    }

    /// TOML subset: `key = value` lines with integers, floats, "strings" and
    /// booleans; `#` comments; `[section]` headers.
    public static func parseTOML(_ text: String, path: String) throws -> [(String, ConfigValue)] {
        var out: [(String, ConfigValue)] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(raw)
            if let hash = line.firstIndex(of: "#"), !line[..<hash].contains("\"") { line = line[..<hash] }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || (trimmed.hasPrefix("[") && trimmed.hasSuffix("]")) { continue }
            let parts = trimmed.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw ConfigError("config file '\(path)' line \(n + 1): expected 'key = value', got '\(trimmed)'")
            }
            out.append((parts[0], try value(parts[1], path: path, line: n + 1)))
        }
        return out
    }

    static func value(_ s: String, path: String, line: Int) throws -> ConfigValue {
        if s.hasPrefix("\"") && s.hasSuffix("\"") && s.count >= 2 { return .string(String(s.dropFirst().dropLast())) }
        if s == "true" || s == "false" { return .bool(s == "true") }
        let digits = s.replacingOccurrences(of: "_", with: "")
        if let i = Int(digits) { return .int(i) }
        if let d = Double(digits) { return .float(d) }
        throw ConfigError("config file '\(path)' line \(line): cannot read value '\(s)' (use a number, true/false or a \"quoted string\")")
    }
}
