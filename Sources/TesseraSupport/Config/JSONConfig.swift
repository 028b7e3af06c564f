import Foundation

/// Reads a JSON config file: an object of keys, optionally grouped in
/// "model", "layout" and "train" objects. Foundation's JSON parser checks the
/// syntax (its error's character offset becomes a line and column); a short
/// scan of the keys finds the line of each key and refuses repeated keys,
/// which JSON parsers silently resolve.
enum JSONConfig {
    /// The entries of JSON `text`, in file order; `file` names it in errors.
    static func entries(_ text: String, file: String) throws -> [ConfigEntry] {
        let data = Data(text.utf8)
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw ConfigError("\(file) \(position(of: error, in: text)): not valid JSON "
                              + "(an object of \"key\": value pairs, values numbers, strings or true/false)")
        }
        guard object is [String: Any] else { throw ConfigError("\(file) is not a JSON object of \"key\": value pairs") }
        let keys = try scanKeys(text, file: file)
        if let deep = keys.first(where: { $0.path.count > 2 }) {
            throw ConfigError("\(file) line \(deep.line): '\(deep.path.prefix(2).joined(separator: "."))' is nested too deeply; "
                              + "write keys at the top level or in \"model\", \"layout\" or \"train\"")
        }
        let values: [String: Node]
        do {
            values = try JSONDecoder().decode([String: Node].self, from: data)
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context),
                let DecodingError.dataCorrupted(context) {
            let path = context.codingPath.map(\.stringValue)
            let line = keys.first { $0.path == path }?.line ?? 0
            throw ConfigError("\(file) line \(line): key '\(path.last ?? "")' needs a number, a string, true/false "
                              + "or a list of integers")
        }
        return try keys.compactMap { k -> ConfigEntry? in
            let source = "\(file) line \(k.line)"
            if k.path.count == 1 {
                guard let node = values[k.path[0]] else {
                    throw ConfigError("\(source): key '\(k.path[0])' could not be read back; write it in plain characters")
                }
                switch node {
                case .value(let v): return ConfigEntry(k.path[0], v, source: source)
                case .object: _ = try ConfigFile.section(k.path[0], file: file, line: k.line); return nil
                }
            }
            guard case .object(let inner)? = values[k.path[0]], let v = inner[k.path[1]] else { return nil }
            return ConfigEntry(k.path[1], v, source: source,
                               section: try ConfigFile.section(k.path[0], file: file, line: k.line))
        }
    }

    /// A JSON value: a setting's value or a section's object.
    enum Node: Decodable {
        case value(ConfigValue), object([String: ConfigValue])

        init(from decoder: Decoder) throws {
            if let object = try? [String: ConfigValue](from: decoder) { self = .object(object) }
            else if let list = try? [Int](from: decoder) { self = .value(.string(list.map(String.init).joined(separator: ","))) }
            else { self = .value(try ConfigValue(from: decoder)) }
        }
    }

    /// "line L, column C" of the character offset Foundation reports ("around character N").
    static func position(of error: Error, in text: String) -> String {
        let described = "\((error as NSError).userInfo[NSDebugDescriptionErrorKey] ?? error)"
        guard let range = described.range(of: #"character \d+"#, options: .regularExpression),
              let offset = Int(described[range].dropFirst(10)) else { return "(\(described))" }
        let before = text.utf8.prefix(offset)
        let line = before.filter { $0 == UInt8(ascii: "\n") }.count + 1
        let column = before.count - (before.lastIndex(of: UInt8(ascii: "\n")).map { before.distance(from: before.startIndex, to: $0) + 1 } ?? 0) + 1
        return "line \(line), column \(column)"
    }

    /// Every object key of (syntactically valid) JSON `text` with its path
    /// and line, in order; a key repeated in one object is an error.
    static func scanKeys(_ text: String, file: String) throws -> [(path: [String], line: Int)] {
        var out: [(path: [String], line: Int)] = []
        var path: [String?] = [], seen: [Set<String>] = [], line = 1
        var chars = Array(text.unicodeScalars)[...]
        var lastString: (String, Int)?
        while let c = chars.popFirst() {
            switch c {
            case "\n": line += 1
            case "{": path.append(nil); seen.append([])
            case "}": path.removeLast(); seen.removeLast()
            case "\"":
                var s = ""
                while let d = chars.popFirst(), d != "\"" {
                    if d == "\\", let e = chars.popFirst() { s.unicodeScalars.append(contentsOf: JSONEscape.decode(e, &chars)) }
                    else { s.unicodeScalars.append(d) }
                }
                lastString = (s, line)
                continue
            case ":" where lastString != nil && !path.isEmpty:
                let (key, at) = lastString!
                if seen[seen.count - 1].contains(key) {
                    throw ConfigError("\(file) line \(at): key '\(key)' is set twice in one object; set it once")
                }
                seen[seen.count - 1].insert(key)
                path[path.count - 1] = key
                out.append((path.compactMap { $0 }, at))
            default: break
            }
            if !c.properties.isWhitespace { lastString = nil }
        }
        return out
    }
}
