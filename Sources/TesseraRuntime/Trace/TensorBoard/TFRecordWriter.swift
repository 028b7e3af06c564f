import Foundation
import TesseraSupport

/// TFRecord framing, the container of TensorBoard's event files: each record
/// is its length (little-endian UInt64), the masked CRC32C of those 8 bytes,
/// the data, and the masked CRC32C of the data. Masking rotates the CRC right
/// by 15 bits and adds 0xa282ead8, so a CRC of bytes that hold a CRC is not trivially zero.
public enum TFRecord {
    /// The masked CRC32C of `bytes`.
    public static func maskedCRC<C: ContiguousBytes>(_ bytes: C) -> UInt32 {
        let crc = CRC32C.checksum(bytes)
        return ((crc >> 15) | (crc << 17)) &+ 0xa282_ead8
    }

    /// One framed record holding `data`.
    public static func frame(_ data: Data) -> Data {
        var out = Data(capacity: data.count + 16)
        var length = UInt64(data.count).littleEndian
        let lengthBytes = withUnsafeBytes(of: &length) { Data($0) }
        out.append(lengthBytes)
        var lengthCRC = maskedCRC(lengthBytes).littleEndian
        withUnsafeBytes(of: &lengthCRC) { out.append(contentsOf: $0) }
        out.append(data)
        var dataCRC = maskedCRC(data).littleEndian
        withUnsafeBytes(of: &dataCRC) { out.append(contentsOf: $0) }
        return out
    }

    /// The records of a framed file, each checked against both CRCs; a
    /// truncated or corrupt record is an error naming its offset.
    public static func records(_ file: Data) throws -> [Data] {
        var out: [Data] = [], at = file.startIndex
        func u32(_ i: Int) -> UInt32 { file[i..<(i + 4)].reversed().reduce(0) { $0 << 8 | UInt32($1) } }
        while at < file.endIndex {
            guard file.endIndex - at >= 12 else { throw DataError("TFRecord at byte \(at - file.startIndex) is truncated") }
            let lengthBytes = file[at..<(at + 8)]
            guard maskedCRC(Data(lengthBytes)) == u32(at + 8) else {
                throw DataError("TFRecord at byte \(at - file.startIndex): its length's CRC does not match")
            }
            let n = Int(lengthBytes.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
            let begin = at + 12
            guard n >= 0, file.endIndex - begin >= n + 4 else { throw DataError("TFRecord at byte \(at - file.startIndex) is truncated") }
            let data = Data(file[begin..<(begin + n)])
            guard maskedCRC(data) == u32(begin + n) else {
                throw DataError("TFRecord at byte \(at - file.startIndex): its data's CRC does not match")
            }
            out.append(data)
            at = begin + n + 4
        }
        return out
    }
}

/// Appends framed records to a new file, one `write` per record and each
/// flushed at once, so TensorBoard shows a run while it trains. The file is
/// created exclusively: an existing file is never replaced.
public final class TFRecordWriter {
    public let path: String
    private let handle: FileHandle

    /// Creates `path`, which must not exist.
    public init(path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw OutputError("cannot create '\(path)': " + String(cString: strerror(errno)))
        }
        handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        self.path = path
    }

    /// Appends one record holding `data`.
    public func write(_ data: Data) throws {
        do { try handle.write(contentsOf: TFRecord.frame(data)) } catch {
            throw OutputError("cannot write '\(path)': \(error.localizedDescription)")
        }
    }
}
