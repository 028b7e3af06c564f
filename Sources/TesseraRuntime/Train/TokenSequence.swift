import TesseraTokenizer

/// One split of the training data as a sequence of token ids, wherever the
/// ids live: bytes of a text file (ids 0...255), ids of a text file encoded
/// with a tokenizer, or memory-mapped shards of `tessera data prepare`
/// (read a window at a time, so resident memory does not grow with the corpus).
public struct TokenSequence: Sendable {
    enum Storage: Sendable {
        case bytes([UInt8])
        case ids([Int32])
        case shards(TokenStream)
    }
    let storage: Storage

    public static func bytes(_ b: [UInt8]) -> TokenSequence { TokenSequence(storage: .bytes(b)) }
    public static func ids(_ i: [Int32]) -> TokenSequence { TokenSequence(storage: .ids(i)) }
    public static func shards(_ s: TokenStream) -> TokenSequence { TokenSequence(storage: .shards(s)) }

    /// Number of ids.
    public var count: Int {
        switch storage {
        case .bytes(let b): b.count
        case .ids(let i): i.count
        case .shards(let s): s.count
        }
    }

    /// Appends ids `start..<start+n` to `out`.
    public func append(from start: Int, count n: Int, to out: inout [Int32]) {
        switch storage {
        case .bytes(let b):
            for t in start..<(start + n) { out.append(Int32(b[t])) }
        case .ids(let i):
            out.append(contentsOf: i[start..<(start + n)])
        case .shards(let s):
            let at = out.count
            out.append(contentsOf: repeatElement(0, count: n))
            out.withUnsafeMutableBufferPointer { s.copy(from: start, count: n, to: $0.baseAddress! + at) }
        }
    }
}
