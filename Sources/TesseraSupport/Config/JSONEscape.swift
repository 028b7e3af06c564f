/// JSON string escapes (RFC 8259 §7), for the scan that finds each key's
/// line: `\n`, `\"`, `\uXXXX` and UTF-16 surrogate pairs `\uD83D\uDE00`.
enum JSONEscape {
    /// The scalars that `\` followed by `e` (and, for `u`, the hex digits
    /// taken from `rest`) stands for; an invalid escape yields U+FFFD, which
    /// no key holds (Foundation has already refused invalid JSON).
    static func decode(_ e: Unicode.Scalar, _ rest: inout ArraySlice<Unicode.Scalar>) -> [Unicode.Scalar] {
        switch e {
        case "n": return ["\n"]
        case "t": return ["\t"]
        case "r": return ["\r"]
        case "b": return ["\u{8}"]
        case "f": return ["\u{C}"]
        case "u":
            guard let high = hex4(&rest) else { return ["\u{FFFD}"] }
            if (0xD800..<0xDC00).contains(high), rest.prefix(2).elementsEqual(["\\", "u"] as [Unicode.Scalar]) {
                var copy = rest.dropFirst(2)
                if let low = hex4(&copy), (0xDC00..<0xE000).contains(low) {
                    rest = copy
                    return [Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)) ?? "\u{FFFD}"]
                }
            }
            return [Unicode.Scalar(high) ?? "\u{FFFD}"]
        default: return [e]  // \" \\ \/
        }
    }

    /// Four hex digits taken from the front of `rest`, or nil.
    static func hex4(_ rest: inout ArraySlice<Unicode.Scalar>) -> UInt32? {
        guard rest.count >= 4, let v = UInt32(String(String.UnicodeScalarView(rest.prefix(4))), radix: 16) else { return nil }
        rest = rest.dropFirst(4)
        return v
    }
}
