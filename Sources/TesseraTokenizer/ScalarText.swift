/// A byte string cut into units for the split patterns: one unit per
/// well-formed UTF-8 scalar, and one per byte of any ill-formed sequence (so
/// encoding never loses or changes a byte). `value[i]` is the scalar (or
/// `invalidByte` for a stray byte), `cls[i]` its `ScalarClass` bits and
/// `start[i]` its first byte offset; `start[count]` is the byte length.
struct ScalarText {
    static let invalidByte: UInt32 = 0xFFFF_FFFF
    var value: [UInt32] = []
    var cls: [UInt8] = []
    var start: [Int] = []
    var count: Int { value.count }

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        let n = bytes.count
        value.reserveCapacity(n)
        cls.reserveCapacity(n)
        start.reserveCapacity(n + 1)
        var i = 0
        while i < n {
            let b0 = bytes[i]
            if b0 < 0x80 {
                value.append(UInt32(b0)); cls.append(ScalarClass.of(UInt32(b0))); start.append(i)
                i += 1
                continue
            }
            let (v, len) = ScalarText.decode(bytes, at: i)
            if len == 0 {
                value.append(ScalarText.invalidByte); cls.append(0); start.append(i)
                i += 1
            } else {
                value.append(v); cls.append(ScalarClass.of(v)); start.append(i)
                i += len
            }
        }
        start.append(n)
    }

    /// The scalar starting at non-ASCII byte `i` and its length, or length 0
    /// when the bytes there are not well-formed UTF-8 (Unicode table 3-7:
    /// no overlong forms, no surrogates, nothing above U+10FFFF).
    @inline(__always)
    static func decode(_ b: UnsafeBufferPointer<UInt8>, at i: Int) -> (UInt32, Int) {
        let n = b.count
        let b0 = b[i]
        @inline(__always) func cont(_ k: Int, _ lo: UInt8 = 0x80, _ hi: UInt8 = 0xBF) -> Bool {
            k < n && b[k] >= lo && b[k] <= hi
        }
        switch b0 {
        case 0xC2...0xDF:
            guard cont(i + 1) else { return (0, 0) }
            return (UInt32(b0 & 0x1F) << 6 | UInt32(b[i + 1] & 0x3F), 2)
        case 0xE0...0xEF:
            let lo: UInt8 = b0 == 0xE0 ? 0xA0 : 0x80
            let hi: UInt8 = b0 == 0xED ? 0x9F : 0xBF
            guard cont(i + 1, lo, hi), cont(i + 2) else { return (0, 0) }
            return (UInt32(b0 & 0x0F) << 12 | UInt32(b[i + 1] & 0x3F) << 6 | UInt32(b[i + 2] & 0x3F), 3)
        case 0xF0...0xF4:
            let lo: UInt8 = b0 == 0xF0 ? 0x90 : 0x80
            let hi: UInt8 = b0 == 0xF4 ? 0x8F : 0xBF
            guard cont(i + 1, lo, hi), cont(i + 2), cont(i + 3) else { return (0, 0) }
            return (UInt32(b0 & 0x07) << 18 | UInt32(b[i + 1] & 0x3F) << 12
                    | UInt32(b[i + 2] & 0x3F) << 6 | UInt32(b[i + 3] & 0x3F), 4)
        default:
            return (0, 0)
        }
    }
}
