/// One value as written in a config file or on the command line, before a
/// `Setting` checks it and stores it in a typed field. Files give typed
/// values; the command line gives `.text`, which each setting reads as its type.
public enum ConfigValue: Equatable, Sendable {
    case int(Int), float(Double), string(String), bool(Bool)
    /// Untyped text from the command line ("5", "2e-3", "true", "corpus.txt").
    case text(String)

    /// The value as an integer, when it is one exactly (2.0 is 2; 1e300 and 2.5 are not integers).
    public var asInt: Int? {
        switch self {
        case .int(let i): return i
        case .float(let f) where f == f.rounded() && abs(f) < 9.2e18: return Int(f)
        case .text(let s): return Int(s) ?? Double(s).flatMap { ConfigValue.float($0).asInt }
        default: return nil
        }
    }

    /// The value as a number (integers included; "nan" and "inf" are numbers, to be refused by range).
    public var asDouble: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .float(let f): return f
        case .text(let s): return Double(s)
        default: return nil
        }
    }

    /// The value as a boolean (`true`/`false`).
    public var asBool: Bool? {
        switch self {
        case .bool(let b): return b
        case .text("true"): return true
        case .text("false"): return false
        default: return nil
        }
    }

    /// The value as a string (file strings and command-line text).
    public var asString: String? {
        switch self {
        case .string(let s), .text(let s): return s
        default: return nil
        }
    }

    /// The value as written in an error message: numbers and booleans plain, strings quoted.
    public var text: String {
        switch self {
        case .int(let i): return "\(i)"
        case .float(let f): return "\(f)"
        case .string(let s): return "'\(s)'"
        case .bool(let b): return "\(b)"
        case .text(let s): return s.isEmpty ? "''" : s
        }
    }
}

extension ConfigValue: Codable {
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .float(d) }
        else { self = .string(try c.decode(String.self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .int(let i): try c.encode(i)
        case .float(let f): try c.encode(f)
        case .string(let s), .text(let s): try c.encode(s)
        case .bool(let b): try c.encode(b)
        }
    }
}
