import Foundation
import TesseraSupport

/// The marker a complete checkpoint holds: its format, its step, and the
/// size and CRC32C of every file, checked on load.
public struct CheckpointMarker: Codable, Sendable, Equatable {
    public static let currentFormat = "tessera-checkpoint-2"
    public var format = currentFormat
    public var step: Int
    /// File name → (bytes, CRC32C as 8 hex digits).
    public var files: [String: FileDigest]

    /// One file's size and checksum.
    public struct FileDigest: Codable, Sendable, Equatable {
        public var bytes: Int
        public var crc32c: String
        public init(bytes: Int, crc32c: String) { self.bytes = bytes; self.crc32c = crc32c }
    }

    /// Reads and checks the marker's form (format, step ≥ 0).
    static func read(_ path: String) throws -> CheckpointMarker {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CheckpointError("\(path) is missing or unreadable")
        }
        guard let m = try? JSONDecoder().decode(CheckpointMarker.self, from: data) else {
            throw CheckpointError("\(path) is not a Tessera checkpoint marker (format, step, files)")
        }
        guard m.format == currentFormat else {
            throw CheckpointError("\(path) has format '\(m.format)'; this Tessera reads '\(currentFormat)'")
        }
        guard m.step >= 0 else { throw CheckpointError("\(path) records step \(m.step); a step is 0 or more") }
        return m
    }
}
