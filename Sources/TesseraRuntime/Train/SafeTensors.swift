import Foundation
import TesseraSupport

/// Reader and writer for the safetensors format: an 8-byte little-endian
/// header length, a JSON header mapping each name to its dtype, shape and
/// byte range, optional string metadata under "__metadata__", then the raw
/// little-endian data. Tessera writes F32 (and I32 for token arrays); it
/// reads F32, F16 and BF16 (converted to float32, see `StoredType`) and I32.
public enum SafeTensors {
    /// One named array: float32 values (read from F32, F16 or BF16) or int32 values.
    public enum Array: Equatable, Sendable {
        case f32(shape: [Int], values: [Float])
        case i32(shape: [Int], values: [Int32])

        public var shape: [Int] {
            switch self { case .f32(let s, _), .i32(let s, _): return s }
        }
    }

    /// A parsed file: named arrays and metadata.
    public struct File: Sendable {
        public var arrays: [String: Array]
        public var metadata: [String: String]
        public init(arrays: [String: Array] = [:], metadata: [String: String] = [:]) {
            self.arrays = arrays; self.metadata = metadata
        }

        /// The float array `name`, or an error naming the file and the array.
        public func floats(_ name: String, in path: String) throws -> (shape: [Int], values: [Float]) {
            guard case .f32(let s, let v)? = arrays[name] else {
                throw CheckpointError("\(path) has no float32 tensor '\(name)'")
            }
            return (s, v)
        }
    }

    /// Serialises `file`; names are written in sorted order so output is reproducible.
    public static func encode(_ file: File) throws -> Data {
        var header: [String: Any] = [:]
        if !file.metadata.isEmpty { header["__metadata__"] = file.metadata }
        var offset = 0
        let names = file.arrays.keys.sorted()
        for name in names {
            let a = file.arrays[name]!
            let (dtype, bytes): (String, Int) = switch a {
            case .f32(_, let v): ("F32", v.count * 4)
            case .i32(_, let v): ("I32", v.count * 4)
            }
            header[name] = ["dtype": dtype, "shape": a.shape, "data_offsets": [offset, offset + bytes]]
            offset += bytes
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
        var out = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for name in names {
            switch file.arrays[name]! {
            case .f32(_, let v): v.withUnsafeBytes { out.append(contentsOf: $0) }
            case .i32(_, let v): v.withUnsafeBytes { out.append(contentsOf: $0) }
            }
        }
        return out
    }

    /// Parses `data` read from `path`; every inconsistency is a `CheckpointError`
    /// naming the file and what is wrong.
    public static func decode(_ data: Data, path: String) throws -> File {
        func bad(_ why: String) -> CheckpointError { CheckpointError("\(path) is not a valid safetensors file: \(why)") }
        guard data.count >= 8 else { throw bad("\(data.count) bytes, shorter than the 8-byte header length") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(data.count - 8) else {
            throw bad("header length \(headerLength) exceeds the file's \(data.count - 8) remaining bytes")
        }
        let body = 8 + Int(headerLength)
        guard let header = try? JSONSerialization.jsonObject(with: data.subdata(in: 8..<body)) as? [String: Any] else {
            throw bad("header is not a JSON object")
        }
        var file = File()
        var ranges: [(Int, Int, String)] = []
        for (name, entry) in header {
            if name == "__metadata__" {
                guard let meta = entry as? [String: String] else { throw bad("__metadata__ is not a string map") }
                file.metadata = meta
                continue
            }
            guard let e = entry as? [String: Any], let dtype = e["dtype"] as? String,
                  let shape = e["shape"] as? [Int], let offs = e["data_offsets"] as? [Int], offs.count == 2
            else { throw bad("entry '\(name)' lacks dtype, shape or data_offsets") }
            guard let width = StoredType.width[dtype] else {
                throw bad("entry '\(name)' has dtype \(dtype); Tessera reads \(StoredType.width.keys.sorted().joined(separator: ", "))")
            }
            guard shape.allSatisfy({ (0...(1 << 40)).contains($0) }) else { throw bad("entry '\(name)' has shape \(shape)") }
            let (count, overflow) = shape.reduce((1, false)) { acc, n in
                let (p, o) = acc.0.multipliedReportingOverflow(by: n)
                return (p, acc.1 || o)
            }
            guard !overflow, count <= data.count, offs[0] >= 0, offs[0] <= offs[1], offs[1] <= data.count,
                  offs[1] - offs[0] == count * width, body + offs[1] <= data.count
            else {
                throw bad("entry '\(name)' has byte range \(offs), inconsistent with \(dtype) shape \(shape) "
                          + "(\(count) × \(width) bytes) or the file's \(data.count - body) data bytes")
            }
            ranges.append((offs[0], offs[1], name))
            let range = (body + offs[0])..<(body + offs[1])
            switch dtype {
            case "I32":
                var v = [Int32](repeating: 0, count: count)
                v.withUnsafeMutableBytes { _ = data.copyBytes(to: $0, from: range) }
                file.arrays[name] = .i32(shape: shape, values: v)
            default:
                file.arrays[name] = .f32(shape: shape, values: StoredType.floats(data, range: range, dtype: dtype, count: count))
            }
        }
        // The format indexes the whole data buffer: no two entries overlap and no byte is left over.
        ranges.sort { ($0.0, $0.1) < ($1.0, $1.1) }
        var end = 0
        for (start, stop, name) in ranges {
            guard start >= end else { throw bad("entry '\(name)' overlaps another at bytes \(start)..<\(end)") }
            guard start == end else { throw bad("bytes \(end)..<\(start) of the data belong to no entry") }
            end = stop
        }
        guard body + end == data.count else { throw bad("the last \(data.count - body - end) bytes belong to no entry") }
        return file
    }

    /// Reads and parses a file.
    public static func read(path: String) throws -> File {
        if let kind = FileCause.kind(of: path), kind != "a regular file" {
            throw CheckpointError("cannot read \(path): it is \(kind), not a regular file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CheckpointError("cannot read \(path): it does not exist or is not readable")
        }
        return try decode(data, path: path)
    }
}
