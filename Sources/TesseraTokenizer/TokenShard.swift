import Foundation
import TesseraSupport

/// How token ids are stored in a shard: 2 bytes when every id fits, else 4.
public enum TokenWidth: String, Codable, Sendable {
    case uint16, uint32
    public var bytes: Int { self == .uint16 ? 2 : 4 }
    /// The narrowest width for ids below `vocabSize`.
    public static func fitting(_ vocabSize: Int) -> TokenWidth { vocabSize <= 1 << 16 ? .uint16 : .uint32 }
}

/// One shard file: a 1024-byte header of 256 little-endian int32 (llm.c's
/// `.bin` layout: [0] magic, [1] version, [2] token count; Tessera's uint16
/// shards use llm.c's GPT-2 values 20240520 and 1, its uint32 shards
/// 20240520 and 2) then the ids, little-endian, `width` bytes each.
public enum TokenShard {
    public static let headerBytes = 1024
    static let magic: Int32 = 20240520

    static func version(_ w: TokenWidth) -> Int32 { w == .uint16 ? 1 : 2 }

    /// Writes `tokens` to `path` through a temporary name renamed into
    /// place; returns the SHA-256 of the whole file.
    public static func write(_ tokens: ArraySlice<Int32>, width: TokenWidth, to path: String) throws -> String {
        var header = [Int32](repeating: 0, count: 256)
        header[0] = magic; header[1] = version(width); header[2] = Int32(tokens.count)
        var bytes = [UInt8](repeating: 0, count: headerBytes + tokens.count * width.bytes)
        bytes.withUnsafeMutableBytes { raw in
            for (i, v) in header.enumerated() { raw.storeBytes(of: v.littleEndian, toByteOffset: 4 * i, as: Int32.self) }
            var o = headerBytes
            if width == .uint16 {
                for t in tokens { raw.storeBytes(of: UInt16(truncatingIfNeeded: t).littleEndian, toByteOffset: o, as: UInt16.self); o += 2 }
            } else {
                for t in tokens { raw.storeBytes(of: UInt32(truncatingIfNeeded: t).littleEndian, toByteOffset: o, as: UInt32.self); o += 4 }
            }
        }
        try AtomicFile.write(Data(bytes), to: path)
        return SHA256.hex(bytes)
    }

    /// Checks a shard's size, header and SHA-256 against its index entry,
    /// reading it in 1 MiB pieces (so checking does not keep it resident).
    public static func verify(path: String, tokens: Int, width: TokenWidth, sha256: String) throws {
        let expected = headerBytes + tokens * width.bytes
        guard let attrs = try? FileManager.default.attributesOfItem(atPath: path), let size = attrs[.size] as? Int else {
            throw TokenizerError("shard \(path) is missing (listed in index.json)")
        }
        guard size == expected else {
            throw TokenizerError("shard \(path) has \(size) bytes; its index entry (\(tokens) \(width.rawValue) tokens) needs \(expected): truncated or corrupt")
        }
        guard let h = FileHandle(forReadingAtPath: path) else { throw TokenizerError("shard \(path) cannot be read") }
        defer { try? h.close() }
        var sha = SHA256()
        var first = true
        while true {
            let chunk = h.readData(ofLength: 1 << 20)
            if chunk.isEmpty { break }
            if first {
                first = false
                let head = chunk.prefix(12).withUnsafeBytes { raw in (0..<3).map { Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) } }
                guard head[0] == magic, head[1] == version(width), Int(head[2]) == tokens else {
                    throw TokenizerError("shard \(path) has a bad header (magic \(head[0]), version \(head[1]), \(head[2]) tokens; expected \(magic), \(version(width)), \(tokens))")
                }
            }
            chunk.withUnsafeBytes { sha.update($0) }
        }
        let got = sha.hexDigest()
        guard got == sha256 else {
            throw TokenizerError("shard \(path) is corrupt: its SHA-256 is \(got), index.json records \(sha256)")
        }
    }
}

/// A shard mapped read-only into memory: pages are read on first touch and
/// can be dropped by the kernel at any time, so resident memory follows the
/// windows read, not the corpus size.
public final class MappedShard: @unchecked Sendable {
    public let count: Int
    public let width: TokenWidth
    private let base: UnsafeRawPointer
    private let length: Int

    public init(path: String, tokens: Int, width: TokenWidth) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw TokenizerError("shard \(path) cannot be opened") }
        defer { close(fd) }
        length = TokenShard.headerBytes + tokens * width.bytes
        guard let p = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw TokenizerError("shard \(path) cannot be memory-mapped")
        }
        base = UnsafeRawPointer(p)
        count = tokens
        self.width = width
    }

    /// Drops the pages of bytes `lo..<hi` from this process's mapping (they
    /// stay in the page cache; the next read maps them again). Without it
    /// every window read would stay resident (the kernel maps whole page-cache
    /// folios, up to 2 MiB, per fault; so the whole aligned 2 MiB around the window is dropped), and resident memory would grow
    /// with the part of the corpus visited.
    private func release(from lo: Int, to hi: Int) {
        let page = 2 << 20   // the largest page-cache folio a fault may map (a PMD)
        let start = lo / page * page
        let end = min(length, (hi + page - 1) / page * page)
        if end > start { _ = madvise(UnsafeMutableRawPointer(mutating: base) + start, end - start, MADV_DONTNEED) }
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), length) }

    /// Copies ids `from..<from+n` to `out`.
    public func copy(from: Int, count n: Int, to out: UnsafeMutablePointer<Int32>) {
        precondition(from >= 0 && from + n <= count, "shard read \(from)..<\(from + n) outside 0..<\(count)")
        let p = base + TokenShard.headerBytes
        if width == .uint16 {
            for i in 0..<n { out[i] = Int32(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * (from + i), as: UInt16.self))) }
        } else {
            for i in 0..<n { out[i] = Int32(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * (from + i), as: UInt32.self))) }
        }
        release(from: TokenShard.headerBytes + from * width.bytes, to: TokenShard.headerBytes + (from + n) * width.bytes)
    }
}
