import Foundation
import TesseraKernels

/// A GGUF file (version 3, the format llama.cpp and the `gguf` Python
/// package read) built in memory: metadata key–value pairs, then tensor
/// records (name, dimensions innermost first, type, offset), then the
/// tensors' bytes, each starting on a multiple of `alignment` bytes. Every
/// number is little-endian. Only what Tessera writes is modelled: scalar,
/// string and array values, and F32, BF16 and Q8_0 tensors.
public struct GGUFFile {
    /// A metadata value (GGUF value types 4, 5, 6, 8, 9 and 7).
    public enum Value {
        case uint32(UInt32), int32(Int32), float32(Float), bool(Bool), string(String)
        case strings([String]), int32s([Int32])
    }

    /// A tensor's element type, with GGML's numbers.
    public enum TensorType: UInt32 {
        case f32 = 0, q8_0 = 8, bf16 = 30
    }

    /// A tensor: `shape` outermost first as Tessera and NumPy write it
    /// (the file stores it reversed, innermost first, as GGML counts).
    public struct Tensor {
        public var name: String, shape: [Int], type: TensorType, bytes: Data
    }

    /// The magic "GGUF", the version, and the alignment of tensor data (GGUF's default).
    public static let magic: [UInt8] = Array("GGUF".utf8), version: UInt32 = 3, alignment = 32

    public var metadata: [(key: String, value: Value)] = []
    public var tensors: [Tensor] = []

    public init() {}

    /// The file's bytes.
    public func encoded() -> Data {
        var out = Data()
        out.append(contentsOf: Self.magic)
        out.append(le: Self.version)
        out.append(le: UInt64(tensors.count))
        out.append(le: UInt64(metadata.count))
        for (key, value) in metadata {
            out.append(gguf: key)
            switch value {
            case .uint32(let v): out.append(le: UInt32(4)); out.append(le: v)
            case .int32(let v): out.append(le: UInt32(5)); out.append(le: UInt32(bitPattern: v))
            case .float32(let v): out.append(le: UInt32(6)); out.append(le: v.bitPattern)
            case .bool(let v): out.append(le: UInt32(7)); out.append(v ? 1 : 0)
            case .string(let v): out.append(le: UInt32(8)); out.append(gguf: v)
            case .strings(let v):
                out.append(le: UInt32(9)); out.append(le: UInt32(8)); out.append(le: UInt64(v.count))
                for s in v { out.append(gguf: s) }
            case .int32s(let v):
                out.append(le: UInt32(9)); out.append(le: UInt32(5)); out.append(le: UInt64(v.count))
                for x in v { out.append(le: UInt32(bitPattern: x)) }
            }
        }
        var offset = 0
        for t in tensors {
            out.append(gguf: t.name)
            out.append(le: UInt32(t.shape.count))
            for d in t.shape.reversed() { out.append(le: UInt64(d)) }
            out.append(le: t.type.rawValue)
            out.append(le: UInt64(offset))
            offset += Self.padded(t.bytes.count)
        }
        out.append(Data(count: Self.padded(out.count) - out.count))
        for t in tensors {
            out.append(t.bytes)
            out.append(Data(count: Self.padded(t.bytes.count) - t.bytes.count))
        }
        return out
    }

    static func padded(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    /// float32 values as an F32 tensor's bytes.
    public static func f32(_ values: [Float]) -> Data {
        var d = Data(capacity: 4 * values.count)
        for v in values { d.append(le: v.bitPattern) }
        return d
    }

    /// float32 values rounded to bf16 (nearest, ties to even) as a BF16 tensor's bytes.
    public static func bf16(_ values: [Float]) -> Data {
        var d = Data(capacity: 2 * values.count)
        for v in values { d.append(le: BF16.bits(v)) }
        return d
    }

    /// A Q8_0 tensor's bytes: per block of 32, the half scale then 32 int8
    /// quants (34 bytes), rows one after another. The row length must be a
    /// multiple of 32, as GGML's Q8_0 requires.
    public static func q8_0(_ m: Q8Matrix) -> Data {
        precondition(m.cols % Q8Matrix.blockSize == 0, "Q8_0 rows must be whole blocks of 32, got \(m.cols)")
        var d = Data(capacity: m.rows * m.blocksPerRow * 34)
        for r in 0..<m.rows {
            for b in 0..<m.blocksPerRow {
                m.withBlock(row: r, block: b) { scale, quants in
                    d.append(le: scale)
                    quants.withMemoryRebound(to: UInt8.self) { d.append(contentsOf: $0) }
                }
            }
        }
        return d
    }
}

extension Data {
    fileprivate mutating func append<T: FixedWidthInteger>(le value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    /// A GGUF string: its UTF-8 length as a u64, then the bytes (no terminator).
    fileprivate mutating func append(gguf string: String) {
        let bytes = Array(string.utf8)
        append(le: UInt64(bytes.count))
        append(contentsOf: bytes)
    }
}
