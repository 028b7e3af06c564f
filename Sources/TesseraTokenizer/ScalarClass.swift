/// The character classes the GPT-2 and Llama 3 split patterns test, for one
/// Unicode scalar, as bits: `letter` is `\p{L}` (general categories Lu, Ll,
/// Lt, Lm, Lo), `number` is `\p{N}` (Nd, Nl, No), `space` is `\s` as
/// Oniguruma (the regex engine of Hugging Face's `tokenizers`) reads it: the
/// Unicode White_Space property (so U+0085 and U+00A0 are spaces, U+001C to
/// U+001F and U+200B are not; checked against the package), and `newline` is
/// `\r` or `\n` (which are also spaces). A scalar with no bit is "other"
/// (`[^\s\p{L}\p{N}]`); so is a byte of invalid UTF-8.
enum ScalarClass {
    static let letter: UInt8 = 1
    static let number: UInt8 = 2
    static let space: UInt8 = 4
    static let newline: UInt8 = 8

    private static let ascii: [UInt8] = (0..<128).map { v in
        switch v {
        case 0x41...0x5A, 0x61...0x7A: return letter
        case 0x30...0x39: return number
        case 0x0A, 0x0D: return space | newline
        case 0x09, 0x0B, 0x0C, 0x20: return space
        default: return 0
        }
    }

    /// The class bits of scalar value `v`.
    @inline(__always)
    static func of(_ v: UInt32) -> UInt8 {
        if v < 128 { return ascii[Int(v)] }
        return nonASCII(v)
    }

    static func nonASCII(_ v: UInt32) -> UInt8 {
        switch v {
        case 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return space
        default: break
        }
        guard let s = Unicode.Scalar(v) else { return 0 }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return number
        default:
            return 0
        }
    }
}
