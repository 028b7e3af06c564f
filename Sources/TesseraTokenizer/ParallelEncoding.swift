import Foundation

extension Tokenizer {
    /// Whether `bytes` may be cut at `i` without changing its ids: `i`
    /// starts an ASCII letter right after a newline. Neither split pattern
    /// makes a piece that crosses such a point (a newline never prefixes a
    /// letter run, and whitespace and punctuation pieces end before letters).
    @inline(__always)
    static func isSafeCut(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> Bool {
        let c = b[i] | 0x20
        return b[i - 1] == 0x0A && c >= 0x61 && c <= 0x7A
    }

    /// The ids of `bytes`, encoded on `threads` threads in pieces cut at safe
    /// points; the same ids as `encode(bytes:)`. With `add_prefix_space`, or an
    /// added token that contains a newline, it runs on one thread (a cut
    /// there could change the ids).
    public func encodeParallel(bytes: [UInt8], threads: Int, addSpecialTokens: Bool = true) -> [Int32] {
        let newlineToken = addedTokens.contains { $0.content.utf8.contains(0x0A) }
        guard threads > 1, !addPrefixSpace, !newlineToken, bytes.count > 1 << 16 else {
            return encode(bytes: bytes, addSpecialTokens: addSpecialTokens)
        }
        let pieces = threads * 4
        var points = [0]
        bytes.withUnsafeBufferPointer { b in
            for k in 1..<pieces {
                var i = max(points.last! + 1, b.count * k / pieces)
                while i < b.count && !Tokenizer.isSafeCut(b, i) { i += 1 }
                if i < b.count { points.append(i) }
            }
        }
        points.append(bytes.count)
        let cuts = points
        let parts = IdParts(cuts.count - 1)
        DispatchQueue.concurrentPerform(iterations: threads) { worker in
            var cache = WordCache()
            var k = worker
            while k < cuts.count - 1 {
                let ids = encode(bytes: Array(bytes[cuts[k]..<cuts[k + 1]]), addSpecialTokens: false, cache: &cache)
                parts.store(k, ids)
                k += threads
            }
        }
        let body = parts.joined()
        guard addSpecialTokens, template != nil else { return body }
        // The template around the whole: encode an empty body and put it in the sequence's place.
        var out: [Int32] = []
        for item in template! {
            switch item {
            case .special(_, let ids): out.append(contentsOf: ids.map { Int32($0) })
            case .sequence: out.append(contentsOf: body)
            }
        }
        return out
    }
}

/// One id array per piece, filled by concurrent workers.
final class IdParts: @unchecked Sendable {
    private var slots: [[Int32]]
    private let lock = NSLock()
    init(_ n: Int) { slots = Array(repeating: [], count: n) }
    func store(_ i: Int, _ ids: [Int32]) { lock.lock(); slots[i] = ids; lock.unlock() }
    func joined() -> [Int32] { lock.lock(); defer { lock.unlock() }; return Array(slots.joined()) }
    func all() -> [[Int32]] { lock.lock(); defer { lock.unlock() }; return slots }
}
