import HeapModule

/// A byte-level BPE model: a vocabulary of tokens (each a byte string,
/// spelled in `ByteLevelAlphabet` in files) and an ordered list of merges.
/// `encodeWord` turns one pre-tokenized piece (bytes) into token ids the way
/// Hugging Face's `tokenizers` BPE does: start from one token per byte, then
/// repeatedly merge the adjacent pair of lowest merge rank, the leftmost when
/// ranks tie, until no adjacent pair has a merge. With `ignoreMerges`
/// (Llama 3) a piece that is itself in the vocabulary is that one token.
public struct BPEModel: Sendable {
    /// `tokenBytes[id]`: the bytes of token `id` (empty for an id with no token).
    public let tokenBytes: [[UInt8]]
    /// Token spelling (byte-level scalars) to id, as in the file.
    public let vocab: [String: Int]
    /// The merges in rank order, as pairs of token spellings.
    public let merges: [(String, String)]
    /// Whether a piece found whole in the vocabulary skips the merges.
    public let ignoreMerges: Bool
    /// The unknown token for bytes missing from the vocabulary (nil: such bytes are dropped).
    public let unkToken: String?
    /// Whether runs of unknown bytes become one unknown token.
    public let fuseUnk: Bool

    let byteId: [Int32]                    // id of the one-byte token, -1 when absent
    let mergeTable: [UInt64: UInt64]       // (left << 32 | right) -> (rank << 32 | merged)
    let idOfBytes: [[UInt8]: Int32]        // for ignoreMerges
    let unkId: Int32

    /// Builds the model; throws when a merge names a token missing from the
    /// vocabulary or makes one that is not in it.
    public init(vocab: [String: Int], merges: [(String, String)], ignoreMerges: Bool = false,
                unkToken: String? = nil, fuseUnk: Bool = false) throws {
        self.vocab = vocab
        self.merges = merges
        self.ignoreMerges = ignoreMerges
        self.unkToken = unkToken
        self.fuseUnk = fuseUnk
        let size = (vocab.values.max() ?? -1) + 1
        var tokenBytes = [[UInt8]](repeating: [], count: size)
        var idOfBytes: [[UInt8]: Int32] = [:]
        for (token, id) in vocab {
            guard id >= 0 else { throw TokenizerError("tokenizer vocabulary id \(id) of \(token.debugDescription) is negative") }
            let bytes = ByteLevelAlphabet.decode(token) ?? Array(token.utf8)
            tokenBytes[id] = bytes
            idOfBytes[bytes] = Int32(id)
        }
        var byteId = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            if let id = vocab[String(Character(ByteLevelAlphabet.scalarForByte[b]))] { byteId[b] = Int32(id) }
        }
        var table: [UInt64: UInt64] = [:]
        table.reserveCapacity(merges.count)
        for (rank, (a, b)) in merges.enumerated() {
            guard let ia = vocab[a], let ib = vocab[b] else {
                throw TokenizerError("tokenizer merge \(rank) (\(a.debugDescription) \(b.debugDescription)) names a token that is not in the vocabulary")
            }
            guard let im = vocab[a + b] else {
                throw TokenizerError("tokenizer merge \(rank) (\(a.debugDescription) \(b.debugDescription)) makes \((a + b).debugDescription), which is not in the vocabulary")
            }
            table[UInt64(ia) << 32 | UInt64(ib)] = UInt64(rank) << 32 | UInt64(im)
        }
        self.tokenBytes = tokenBytes
        self.idOfBytes = idOfBytes
        self.byteId = byteId
        self.mergeTable = table
        if let unk = unkToken {
            guard let id = vocab[unk] else { throw TokenizerError("tokenizer unk_token \(unk.debugDescription) is not in the vocabulary") }
            unkId = Int32(id)
        } else {
            unkId = -1
        }
    }

    /// Number of ids (one more than the largest id in the vocabulary).
    public var size: Int { tokenBytes.count }

    /// The id of the one-byte token for `byte`, if the vocabulary has it.
    public func idOfByte(_ byte: UInt8) -> Int32? {
        byteId[Int(byte)] >= 0 ? byteId[Int(byte)] : nil
    }

    /// The ids of one piece.
    public func encode(piece: [UInt8]) -> [Int32] {
        var out: [Int32] = []
        piece.withUnsafeBufferPointer { encodeWord($0, into: &out) }
        return out
    }

    /// Applies the merges to `ids` by rescanning (`withHeap` false) or with
    /// the heap (true); both give the same ids (a test checks it).
    public func merge(_ ids: [Int32], withHeap: Bool) -> [Int32] {
        var sym = ids
        if sym.isEmpty { return sym }
        if withHeap { mergeWithHeap(&sym) } else { mergeByScan(&sym) }
        return sym
    }

    /// Appends the ids of the piece `bytes` to `out`.
    func encodeWord(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [Int32]) {
        if ignoreMerges, let id = idOfBytes[Array(bytes)] {
            out.append(id)
            return
        }
        var sym: [Int32] = []
        sym.reserveCapacity(bytes.count)
        var lastUnk = false
        for b in bytes {
            let id = byteId[Int(b)]
            if id >= 0 {
                sym.append(id); lastUnk = false
            } else if unkId >= 0 {
                if !(fuseUnk && lastUnk) { sym.append(unkId) }
                lastUnk = true
            }
        }
        if sym.count > 24 {
            mergeWithHeap(&sym)
        } else {
            mergeByScan(&sym)
        }
        out.append(contentsOf: sym)
    }

    @inline(__always)
    func lookup(_ a: Int32, _ b: Int32) -> UInt64? {
        mergeTable[UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))]
    }

    /// Short pieces: rescan for the lowest-rank pair after each merge.
    func mergeByScan(_ sym: inout [Int32]) {
        while sym.count > 1 {
            var best = UInt64.max
            var at = -1
            for i in 0..<(sym.count - 1) {
                if let m = lookup(sym[i], sym[i + 1]), m < best { best = m; at = i }
            }
            if at < 0 { return }
            sym[at] = Int32(truncatingIfNeeded: best & 0xFFFF_FFFF)
            sym.remove(at: at + 1)
        }
    }

    /// Long pieces (runs of spaces, long words): a min-heap of candidate
    /// pairs keyed (rank, position) over a linked list of symbols; a popped
    /// entry whose pair has changed is skipped. Same result as the scan.
    func mergeWithHeap(_ sym: inout [Int32]) {
        let n = sym.count
        var next = [Int](0..<n).map { $0 + 1 }
        var prev = [Int](0..<n).map { $0 - 1 }
        var alive = [Bool](repeating: true, count: n)
        var heap = Heap<UInt64>()
        for i in 0..<(n - 1) {
            if let m = lookup(sym[i], sym[i + 1]) { heap.insert((m >> 32) << 32 | UInt64(i)) }
        }
        while let top = heap.popMin() {
            let i = Int(top & 0xFFFF_FFFF)
            let rank = top >> 32
            guard alive[i], next[i] < n else { continue }
            let j = next[i]
            guard let m = lookup(sym[i], sym[j]), m >> 32 == rank else { continue }
            sym[i] = Int32(truncatingIfNeeded: m & 0xFFFF_FFFF)
            alive[j] = false
            next[i] = next[j]
            if next[j] < n { prev[next[j]] = i }
            if prev[i] >= 0, let pm = lookup(sym[prev[i]], sym[i]) {
                heap.insert((pm >> 32) << 32 | UInt64(prev[i]))
            }
            if next[i] < n, let nm = lookup(sym[i], sym[next[i]]) {
                heap.insert((nm >> 32) << 32 | UInt64(i))
            }
        }
        var out: [Int32] = []
        out.reserveCapacity(n)
        var k = 0
        while k < n { out.append(sym[k]); k = next[k] }
        sym = out
    }
}
