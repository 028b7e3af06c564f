import Foundation

/// A prepared token directory opened for training: its index, its
/// tokenizer (the copy `prepare` left there) and each split as a stream of
/// memory-mapped shards. Opening checks every shard's size, header and
/// SHA-256 (`verify`), so a corrupt or truncated shard is named before any
/// training starts; reading maps pages on demand, so resident memory does
/// not grow with the corpus.
public final class PreparedData: @unchecked Sendable {
    public let dir: String
    public let index: ShardIndex
    public let tokenizer: Tokenizer
    /// Train and validation streams.
    public let train: TokenStream
    public let validation: TokenStream

    public init(dir: String, verify: Bool = true) throws {
        self.dir = dir
        index = try ShardIndex.read(dir: dir)
        let tokPath = (dir as NSString).appendingPathComponent("tokenizer.json")
        tokenizer = try Tokenizer.load(path: tokPath)
        guard tokenizer.sha256 == index.tokenizer.sha256 else {
            throw TokenizerError("\(tokPath) has SHA-256 \(tokenizer.sha256) but \(dir)/index.json records \(index.tokenizer.sha256): the directory was altered")
        }
        for s in index.shards where verify {
            try TokenShard.verify(path: (dir as NSString).appendingPathComponent(s.file), tokens: s.tokens, width: index.dtype, sha256: s.sha256)
        }
        let index = self.index
        func stream(_ split: String) throws -> TokenStream {
            TokenStream(try index.shards.filter { $0.split == split && $0.tokens > 0 }.map {
                try MappedShard(path: (dir as NSString).appendingPathComponent($0.file), tokens: $0.tokens, width: index.dtype)
            })
        }
        train = try stream("train")
        validation = try stream("validation")
    }
}

/// Shards read as one stream of ids: `copy(from:count:to:)` reads a window
/// that may cross from one shard into the next.
public struct TokenStream: Sendable {
    public let shards: [MappedShard]
    /// `starts[k]`: the stream index of shard k's first id; `starts.last` is the count.
    public let starts: [Int]
    public var count: Int { starts.last ?? 0 }

    public init(_ shards: [MappedShard]) {
        self.shards = shards
        var s = [0]
        for sh in shards { s.append(s.last! + sh.count) }
        starts = s
    }

    /// Copies ids `from..<from+n` of the stream to `out`.
    public func copy(from: Int, count n: Int, to out: UnsafeMutablePointer<Int32>) {
        precondition(from >= 0 && from + n <= count)
        var k = 0
        var lo = 0, hi = shards.count
        while lo < hi { let m = (lo + hi) / 2; if starts[m + 1] <= from { lo = m + 1 } else { hi = m } }
        k = lo
        var done = 0
        var at = from
        while done < n {
            let inShard = at - starts[k]
            let take = min(n - done, shards[k].count - inShard)
            shards[k].copy(from: inShard, count: take, to: out + done)
            done += take
            at += take
            k += 1
        }
    }
}
