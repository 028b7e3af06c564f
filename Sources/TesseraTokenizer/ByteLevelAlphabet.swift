/// GPT-2's reversible map between the 256 byte values and 256 printable
/// Unicode scalars ("byte-level" BPE): bytes that are printable Latin-1
/// (`!`...`~`, `¡`...`¬`, `®`...`ÿ`) stand for themselves; the other 68
/// bytes, in increasing order, take U+0100, U+0101, ... . So the space 0x20
/// is `Ġ` (U+0120) and the newline 0x0A is `Ċ` (U+010A). Every byte-level
/// vocabulary (GPT-2's, Llama 3's, one trained with Hugging Face's
/// `ByteLevel` pre-tokenizer) spells its tokens in these scalars.
public enum ByteLevelAlphabet {
    /// `scalar[b]`: the scalar that stands for byte `b` (256 entries).
    public static let scalarForByte: [Unicode.Scalar] = {
        var printable = [Bool](repeating: false, count: 256)
        for b in 0x21...0x7E { printable[b] = true }
        for b in 0xA1...0xAC { printable[b] = true }
        for b in 0xAE...0xFF { printable[b] = true }
        var out = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if printable[b] {
                out[b] = Unicode.Scalar(UInt32(b))!
            } else {
                out[b] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return out
    }()

    /// The byte a scalar stands for, or nil for a scalar outside the alphabet.
    public static func byte(for scalar: Unicode.Scalar) -> UInt8? {
        byteForScalar[scalar.value]
    }

    private static let byteForScalar: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for (b, s) in scalarForByte.enumerated() { map[s.value] = UInt8(b) }
        return map
    }()

    /// The byte-level spelling of `bytes` (one scalar per byte).
    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(scalarForByte[Int(b)]) }
        return String(s)
    }

    /// The bytes a byte-level token spells, or nil when some scalar of it is
    /// outside the alphabet (such a token, an added token like `<|eot|>` in
    /// another spelling, stands for its own UTF-8 bytes).
    public static func decode(_ token: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.unicodeScalars.count)
        for s in token.unicodeScalars {
            guard let b = byteForScalar[s.value] else { return nil }
            out.append(b)
        }
        return out
    }
}
