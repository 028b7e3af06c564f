import Foundation
import TOMLKit

/// Reads a config file into entries, each with its file and line for error
/// messages. TOML (toml.io 1.0, parsed by TOMLKit/toml++) unless the name
/// ends in .json. Keys may sit at the top level or under their section,
/// `[model]`, `[layout]` or `[train]` (a JSON object under "model", …); any
/// other section is refused, and so are repeated keys. Line endings may be
/// LF or CRLF.
public enum ConfigFile {
    /// The entries of the config file at `path`, in file order.
    public static func read(_ path: String) throws -> [ConfigEntry] {
        let data = try InputFile.contents(path, what: "config file", limit: 1 << 20)
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError("config file '\(path)' is not UTF-8 text")
        }
        let file = "config file '\(path)'"
        return path.hasSuffix(".json") ? try JSONConfig.entries(text, file: file) : try toml(text, file: file)
    }

    /// The entries of TOML `text`; `file` names it in errors.
    static func toml(_ text: String, file: String) throws -> [ConfigEntry] {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let e as TOMLParseError {
            throw ConfigError("\(file) line \(e.source.begin.line), column \(e.source.begin.column): \(e.description) "
                              + "(TOML: key = value lines, \"quoted strings\", [model], [layout] or [train] sections)")
        }
        let lines = KeyLines(text)
        var out: [(line: Int, entry: ConfigEntry)] = []
        for (key, value) in table {
            if let inner = value.table {
                let section = try ConfigFile.section(key, file: file, line: lines.section(key))
                for (k, v) in inner {
                    let line = lines.key(k, in: key)
                    out.append((line, ConfigEntry(k, try tomlValue(v, key: k, file: file, line: line),
                                                  source: at(file, line, key: "\(key).\(k)"), section: section)))
                }
            } else {
                let line = lines.key(key, in: nil)
                out.append((line, ConfigEntry(key, try tomlValue(value, key: key, file: file, line: line),
                                              source: at(file, line, key: key))))
            }
        }
        return out.sorted { $0.line < $1.line }.map(\.entry)
    }

    /// "config file 'x' line 3", or "config file 'x' (key 'model.layers')" where the line is not known
    /// (a quoted or inline-table key), never "line 0".
    static func at(_ file: String, _ line: Int, key: String) -> String {
        line > 0 ? "\(file) line \(line)" : "\(file) (key '\(key)')"
    }

    /// The section named `name`, or an error naming the valid ones.
    static func section(_ name: String, file: String, line: Int) throws -> ConfigSection {
        guard let s = ConfigSection(rawValue: name) else {
            throw ConfigError("\(at(file, line, key: name)): [\(name)] is not a section; sections are "
                              + ConfigSection.allCases.map { "[\($0.rawValue)]" }.joined(separator: ", ")
                              + " (or write keys at the top level)")
        }
        return s
    }

    static func tomlValue(_ v: TOMLValueConvertible, key: String, file: String, line: Int) throws -> ConfigValue {
        switch v.type {
        case .int: return .int(v.int!)
        case .double: return .float(v.double!)
        case .string: return .string(v.string!)
        case .bool: return .bool(v.bool!)
        case .array:
            let items = v.array!.map { $0.int }
            if !items.isEmpty, items.allSatisfy({ $0 != nil }) { return .string(items.map { "\($0!)" }.joined(separator: ",")) }
            fallthrough
        default:
            throw ConfigError("\(at(file, line, key: key)): key '\(key)' has a \(v.type) value; use a number, true/false, "
                              + "a \"quoted string\" or a list of integers")
        }
    }
}

/// Where each key and section header of a TOML text is written (TOMLKit
/// gives values, not their lines).
struct KeyLines {
    /// Each `key = value` line: its number, the section it is under (nil: top level) and its key.
    private var rows: [(line: Int, section: String?, key: String?)] = []
    /// The first line of each section (its `[name]` header, or a dotted key `name.key`).
    private var headers: [String: Int] = [:]

    init(_ text: String) {
        var section: String?
        for (i, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("["), let close = line.firstIndex(of: "]") {
                section = line[line.index(after: line.startIndex)..<close].trimmingCharacters(in: .whitespaces)
                headers[section!] = headers[section!] ?? i + 1
            } else if let eq = line.firstIndex(of: "="), !line.hasPrefix("#") {
                var key = line[..<eq].trimmingCharacters(in: .whitespaces)
                if key.count >= 2, key.first == "\"" || key.first == "'", key.last == key.first { key = String(key.dropFirst().dropLast()) }
                let dotted = key.split(separator: ".", maxSplits: 1)
                if section == nil, dotted.count == 2 {  // model.layers = 2
                    rows.append((i + 1, String(dotted[0]).trimmingCharacters(in: .whitespaces),
                                 String(dotted[1]).trimmingCharacters(in: .whitespaces)))
                    headers[String(dotted[0])] = headers[String(dotted[0])] ?? i + 1
                } else {
                    rows.append((i + 1, section, key))
                }
            }
        }
    }

    /// The line of `key` under `section` (0 if not found).
    func key(_ key: String, in section: String?) -> Int {
        rows.first { $0.key == key && $0.section == section }?.line ?? 0
    }

    /// The line of the `[name]` header (0 if not found).
    func section(_ name: String) -> Int { headers[name] ?? 0 }
}
