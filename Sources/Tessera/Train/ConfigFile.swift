import Foundation

/// Parsers for the two config-file syntaxes. Both yield flat (key, value)
/// pairs; TOML section headers (`[model]`, `[train]`) only group lines.
public enum ConfigFile {
    /// A JSON object of keys to numbers, strings or booleans.
    public static func parseJSON(_ text: String, path: String) throws -> [(String, TrainConfig.Value)] {
        guard let object = try? JSONDecoder().decode([String: TrainConfig.Value].self, from: Data(text.utf8)) else {
            throw ConfigError("config file '\(path)' is not a JSON object whose values are numbers, strings or booleans")
        }
        return object.keys.sorted().map { ($0, object[$0]!) }
    }

    /// TOML subset: `key = value` lines with integers, floats, "strings" and
    /// booleans; `#` comments; `[section]` headers.
    public static func parseTOML(_ text: String, path: String) throws -> [(String, TrainConfig.Value)] {
        var out: [(String, TrainConfig.Value)] = []
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

    static func value(_ s: String, path: String, line: Int) throws -> TrainConfig.Value {
        if s.hasPrefix("\"") && s.hasSuffix("\"") && s.count >= 2 { return .string(String(s.dropFirst().dropLast())) }
        if s == "true" || s == "false" { return .bool(s == "true") }
        let digits = s.replacingOccurrences(of: "_", with: "")
        if let i = Int(digits) { return .int(i) }
        if let d = Double(digits) { return .float(d) }
        throw ConfigError("config file '\(path)' line \(line): cannot read value '\(s)' (use a number, true/false or a \"quoted string\")")
    }
}
