import Foundation
import HeapModule

/// Learns a byte-level BPE tokenizer from text files, as Hugging Face's
/// `BpeTrainer` does with a `ByteLevel` pre-tokenizer and its full byte
/// alphabet: ids 0... are the special tokens, then the 256 byte tokens in
/// scalar order, then one token per merge. Each line of each file (with its
/// newline) is split by the pattern and the distinct pieces are counted;
/// then merges are taken greedily, the most frequent adjacent pair first
/// (ties: the smallest pair of ids), until the vocabulary has `vocabSize`
/// tokens or no pair occurs `minFrequency` times.
///
/// Time is near-linear in the corpus: pair counts live in a max-heap that
/// each merge updates only for the words containing the merged pair (a
/// word index per pair), never by rescanning all words.
public struct BPETrainer: Sendable {
    public var vocabSize: Int
    public var specialTokens: [String]
    public var pattern: SplitPattern
    public var minFrequency: Int
    /// Threads counting pieces.
    public var threads: Int

    public init(vocabSize: Int, specialTokens: [String] = ["<|endoftext|>"], pattern: SplitPattern = .gpt2,
                minFrequency: Int = 0, threads: Int = 1) {
        self.vocabSize = vocabSize
        self.specialTokens = specialTokens
        self.pattern = pattern
        self.minFrequency = minFrequency
        self.threads = threads
    }

    /// Checks the settings before any file is read.
    public func validate() throws {
        let least = 256 + specialTokens.count
        guard vocabSize >= least else {
            throw TokenizerError("tokenizer vocabulary \(vocabSize) is too small: the \(specialTokens.count) special tokens and 256 bytes need at least \(least)")
        }
        guard vocabSize <= 1 << 24 else { throw TokenizerError("tokenizer vocabulary \(vocabSize) is too large (at most \(1 << 24))") }
        guard Set(specialTokens).count == specialTokens.count, !specialTokens.contains("") else {
            throw TokenizerError("special tokens \(specialTokens) must be distinct and not empty")
        }
    }

    /// Trains on the contents of `texts` (file contents, each a byte array).
    public func train(texts: [[UInt8]]) throws -> Tokenizer {
        try validate()
        return try merge(counts: countPieces(texts))
    }

    /// Distinct pieces of all lines with their counts.
    public func countPieces(_ texts: [[UInt8]]) -> [[UInt8]: Int] {
        // Cut each text at line starts into about `threads * 4` chunks.
        var cuts: [(Int, Range<Int>)] = []
        for (t, text) in texts.enumerated() {
            let step = max(1 << 16, text.count / max(1, threads * 4))
            var lo = 0
            while lo < text.count {
                var hi = min(text.count, lo + step)
                while hi < text.count && text[hi - 1] != 0x0A { hi += 1 }
                cuts.append((t, lo..<hi))
                lo = hi
            }
        }
        let parts = ThreadCounts(cuts.count)
        let pattern = self.pattern
        let chunks = cuts
        DispatchQueue.concurrentPerform(iterations: max(1, min(threads, chunks.count))) { worker in
            var local: [[UInt8]: Int] = [:]
            var k = worker
            while k < chunks.count {
                let (t, range) = chunks[k]
                texts[t].withUnsafeBufferPointer { b in
                    var lineStart = range.lowerBound
                    while lineStart < range.upperBound {
                        var e = lineStart
                        while e < range.upperBound && b[e] != 0x0A { e += 1 }
                        if e < range.upperBound { e += 1 }
                        let line = UnsafeBufferPointer(rebasing: b[lineStart..<e])
                        let st = ScalarText(line)
                        pattern.forEachPiece(st) { i, j in
                            local[Array(line[st.start[i]..<st.start[j]]), default: 0] += 1
                        }
                        lineStart = e
                    }
                }
                k += max(1, min(threads, chunks.count))
            }
            parts.store(worker, local)
        }
        var total: [[UInt8]: Int] = [:]
        for part in parts.all() {
            if total.isEmpty { total = part; continue }
            for (w, c) in part { total[w, default: 0] += c }
        }
        return total
    }

    /// The merges learned from piece counts.
    public func merge(counts: [[UInt8]: Int]) throws -> Tokenizer {
        try validate()
        var vocab: [String: Int] = [:]
        var names: [String] = []
        func add(_ s: String) -> Int32 {
            if let id = vocab[s] { return Int32(id) }
            vocab[s] = names.count
            names.append(s)
            return Int32(names.count - 1)
        }
        for s in specialTokens { _ = add(s) }
        let alphabet = ByteLevelAlphabet.scalarForByte.sorted { $0.value < $1.value }
        var byteId = [Int32](repeating: 0, count: 256)
        for s in alphabet { byteId[Int(ByteLevelAlphabet.byte(for: s)!)] = add(String(Character(s))) }

        // Words in a fixed order (by bytes) so training is deterministic.
        let sortedWords = counts.sorted { $0.key.lexicographicallyPrecedes($1.key) }
        var words: [[Int32]] = sortedWords.map { $0.key.map { byteId[Int($0)] } }
        let freq: [Int] = sortedWords.map(\.value)
        var pairCount: [UInt64: Int] = [:]
        var wordsWith: [UInt64: [Int32]] = [:]
        @inline(__always) func key(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(a)) << 32 | UInt64(UInt32(b)) }
        for (w, word) in words.enumerated() where word.count > 1 {
            for i in 0..<(word.count - 1) {
                let k = key(word[i], word[i + 1])
                pairCount[k, default: 0] += freq[w]
                if wordsWith[k]?.last != Int32(w) { wordsWith[k, default: []].append(Int32(w)) }
            }
        }
        var heap = Heap<PairCount>()
        for (k, c) in pairCount where c > 0 { heap.insert(PairCount(count: c, pair: k)) }

        var merges: [(String, String)] = []
        var changed: [UInt64: Int] = [:]
        while names.count < vocabSize, let top = heap.popMax() {
            guard pairCount[top.pair] == top.count else { continue }
            if top.count < max(1, minFrequency) { break }
            let a = Int32(truncatingIfNeeded: top.pair >> 32), b = Int32(truncatingIfNeeded: top.pair & 0xFFFF_FFFF)
            merges.append((names[Int(a)], names[Int(b)]))
            let m = add(names[Int(a)] + names[Int(b)])
            changed.removeAll(keepingCapacity: true)
            for w32 in wordsWith[top.pair] ?? [] {
                let w = Int(w32)
                let old = words[w]
                var new: [Int32] = []
                new.reserveCapacity(old.count)
                var i = 0
                var found = false
                while i < old.count {
                    if i + 1 < old.count && old[i] == a && old[i + 1] == b {
                        new.append(m); i += 2; found = true
                    } else {
                        new.append(old[i]); i += 1
                    }
                }
                guard found else { continue }
                let f = freq[w]
                for i in 0..<(old.count - 1) { changed[key(old[i], old[i + 1]), default: 0] -= f }
                if new.count > 1 {
                    for i in 0..<(new.count - 1) {
                        let k = key(new[i], new[i + 1])
                        changed[k, default: 0] += f
                        if (new[i] == m || new[i + 1] == m) && wordsWith[k]?.last != w32 { wordsWith[k, default: []].append(w32) }
                    }
                }
                words[w] = new
            }
            wordsWith[top.pair] = nil
            for (k, d) in changed where d != 0 {
                let c = pairCount[k, default: 0] + d
                pairCount[k] = c
                if c > 0 { heap.insert(PairCount(count: c, pair: k)) }
            }
        }
        let model = try BPEModel(vocab: vocab, merges: merges)
        let added = specialTokens.enumerated().map { AddedToken(id: $0.offset, content: $0.element, special: true) }
        return Tokenizer(model: model, addedTokens: added, pattern: pattern,
                         style: pattern == .gpt2 ? .byteLevel : .splitThenByteLevel)
    }
}

/// One result slot per worker of a `concurrentPerform`.
final class ThreadCounts: @unchecked Sendable {
    private var slots: [[[UInt8]: Int]]
    private let lock = NSLock()
    init(_ n: Int) { slots = Array(repeating: [:], count: max(1, n)) }
    func store(_ i: Int, _ d: [[UInt8]: Int]) { lock.lock(); slots[i] = d; lock.unlock() }
    func all() -> [[[UInt8]: Int]] { lock.lock(); defer { lock.unlock() }; return slots }
}
