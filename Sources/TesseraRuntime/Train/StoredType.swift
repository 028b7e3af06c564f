import Foundation

/// The floating-point element types of a safetensors file Tessera reads,
/// and their conversion to float32 on load. F16 (IEEE binary16) and BF16
/// (the top half of a float32) convert exactly: every value of either is
/// a float32 value, so a checkpoint saved in half precision loads as the
/// same model transformers runs after `.float()`.
enum StoredType {
    /// Bytes per element of each dtype name the reader accepts.
    static let width: [String: Int] = ["F32": 4, "F16": 2, "BF16": 2, "I32": 4]

    /// The `count` elements of `dtype` at `range` of `data` (little-endian), as float32.
    static func floats(_ data: Data, range: Range<Int>, dtype: String, count: Int) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        switch dtype {
        case "F32":
            out.withUnsafeMutableBytes { _ = data.copyBytes(to: $0, from: range) }
        default:
            var half = [UInt16](repeating: 0, count: count)
            half.withUnsafeMutableBytes { _ = data.copyBytes(to: $0, from: range) }
            if dtype == "BF16" {
                for i in 0..<count { out[i] = Float(bitPattern: UInt32(UInt16(littleEndian: half[i])) << 16) }
            } else {
                for i in 0..<count { out[i] = float(fromHalf: UInt16(littleEndian: half[i])) }
            }
        }
        return out
    }

    /// An IEEE binary16 bit pattern as float32 (subnormals, infinities and NaN included).
    static func float(fromHalf h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = Int(h >> 10) & 0x1F, mantissa = UInt32(h & 0x3FF)
        switch exponent {
        case 0:  // zero or subnormal: mantissa · 2^-24
            let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign != 0 ? -magnitude : magnitude
        case 0x1F:  // infinity or NaN
            return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
        default:
            return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | mantissa << 13)
        }
    }
}
