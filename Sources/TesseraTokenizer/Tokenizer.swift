/// A byte-level BPE tokenizer with the behaviour of a Hugging Face
/// `tokenizer.json` of model type BPE (GPT-2's and Llama 3's kind): added
/// tokens are cut out first, each remaining stretch is split by the
/// pre-tokenizer pattern, each piece is encoded by the BPE model over its
/// bytes, and the post-processor may put template tokens (a BOS) around it.
///
/// `encode` takes any bytes (text in UTF-8; bytes of ill-formed UTF-8 are
/// kept, each one a piece of "other" class) and returns ids in
/// `0..<vocabSize`; `decode` takes ids and returns the bytes they spell, so
/// `decode(encode(x)) == x` for any `x` without added tokens in it.
public struct Tokenizer: Sendable {
    /// How the pre-tokenizer is written in `tokenizer.json`.
    public enum PreTokenizerStyle: String, Sendable {
        /// `{"type": "ByteLevel", "use_regex": true}` (GPT-2): the GPT-2 pattern.
        case byteLevel
        /// `Sequence[Split(pattern, Isolated), ByteLevel(use_regex: false)]` (Llama 3).
        case splitThenByteLevel
    }

    /// One item of a single-sequence `TemplateProcessing` post-processor.
    public enum TemplateItem: Sendable, Equatable {
        /// The ids of a special token of the template (for example a BOS).
        case special(name: String, ids: [Int])
        /// The encoded input.
        case sequence
    }

    public let model: BPEModel
    public let addedTokens: [AddedToken]
    /// The split pattern (nil: each stretch is one piece).
    public let pattern: SplitPattern?
    public let style: PreTokenizerStyle
    /// ByteLevel's `add_prefix_space`: a space is put before each stretch that does not start with one.
    public let addPrefixSpace: Bool
    /// The single-sequence template of the post-processor (nil: ids pass unchanged).
    public let template: [TemplateItem]?

    let firstPass: AddedTokenMatcher
    let secondPass: AddedTokenMatcher
    let addedBytes: [Int32: [UInt8]]
    let specialIds: Set<Int32>

    public init(model: BPEModel, addedTokens: [AddedToken] = [], pattern: SplitPattern? = .gpt2,
                style: PreTokenizerStyle = .byteLevel, addPrefixSpace: Bool = false,
                template: [TemplateItem]? = nil) {
        self.model = model
        self.addedTokens = addedTokens
        self.pattern = pattern
        self.style = style
        self.addPrefixSpace = addPrefixSpace
        self.template = template
        firstPass = AddedTokenMatcher(addedTokens.filter { !$0.normalized })
        secondPass = AddedTokenMatcher(addedTokens.filter { $0.normalized })
        var bytes: [Int32: [UInt8]] = [:]
        for t in addedTokens { bytes[Int32(t.id)] = ByteLevelAlphabet.decode(t.content) ?? Array(t.content.utf8) }
        addedBytes = bytes
        specialIds = Set(addedTokens.filter(\.special).map { Int32($0.id) })
    }

    /// Number of ids: one more than the largest id of the vocabulary, the added tokens and the template.
    public var vocabSize: Int {
        var n = model.size
        for t in addedTokens { n = max(n, t.id + 1) }
        for case .special(_, let ids) in template ?? [] { n = max(n, (ids.max() ?? -1) + 1) }
        return n
    }

    /// The id of an added token by its content.
    public func addedTokenId(_ content: String) -> Int? {
        addedTokens.first { $0.content == content }?.id
    }

    /// The ids of `text`'s UTF-8 bytes.
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int32] {
        encode(bytes: Array(text.utf8), addSpecialTokens: addSpecialTokens)
    }

    /// The ids of `bytes`, with the post-processor's template tokens when `addSpecialTokens`.
    public func encode(bytes: [UInt8], addSpecialTokens: Bool = true) -> [Int32] {
        var cache = WordCache()
        return encode(bytes: bytes, addSpecialTokens: addSpecialTokens, cache: &cache)
    }

    /// `encode` reusing `cache` (pieces seen before) across calls on one thread.
    public func encode(bytes: [UInt8], addSpecialTokens: Bool = true, cache: inout WordCache) -> [Int32] {
        var body: [Int32] = []
        body.reserveCapacity(bytes.count / 3 + 4)
        bytes.withUnsafeBufferPointer { b in
            firstPass.split(b, 0, b.count, text: { lo, hi in
                secondPass.split(b, lo, hi, text: { lo2, hi2 in
                    encodeStretch(b, lo2, hi2, &body, &cache)
                }, token: { _, _, id in body.append(id) })
            }, token: { _, _, id in body.append(id) })
        }
        guard addSpecialTokens, let template else { return body }
        var out: [Int32] = []
        out.reserveCapacity(body.count + template.count)
        for item in template {
            switch item {
            case .special(_, let ids): out.append(contentsOf: ids.map { Int32($0) })
            case .sequence: out.append(contentsOf: body)
            }
        }
        return out
    }

    private func encodeStretch(_ b: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int,
                               _ out: inout [Int32], _ cache: inout WordCache) {
        if addPrefixSpace && b[lo] != 0x20 {
            var spaced: [UInt8] = [0x20]
            spaced.append(contentsOf: b[lo..<hi])
            spaced.withUnsafeBufferPointer { s in encodePieces(UnsafeBufferPointer(rebasing: s[...]), &out, &cache) }
        } else {
            encodePieces(UnsafeBufferPointer(rebasing: b[lo..<hi]), &out, &cache)
        }
    }

    private func encodePieces(_ s: UnsafeBufferPointer<UInt8>, _ out: inout [Int32], _ cache: inout WordCache) {
        guard let pattern else {
            cache.encode(s, model, &out)
            return
        }
        let text = ScalarText(s)
        pattern.forEachPiece(text) { i, e in
            let lo = text.start[i], hi = text.start[e]
            cache.encode(UnsafeBufferPointer(rebasing: s[lo..<hi]), model, &out)
        }
    }

    /// The bytes that `ids` spell; ids of special tokens are left out when
    /// `skipSpecial`, ids with no token are left out always (as `tokenizers` does).
    public func decode(_ ids: [Int32], skipSpecial: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(ids.count * 4)
        for id in ids {
            if let added = addedBytes[id] {
                if !(skipSpecial && specialIds.contains(id)) { out.append(contentsOf: added) }
            } else if id >= 0 && Int(id) < model.tokenBytes.count {
                out.append(contentsOf: model.tokenBytes[Int(id)])
            }
        }
        return out
    }

    /// `decode` as text, with ill-formed UTF-8 replaced by U+FFFD (what `tokenizers` returns).
    public func decodeText(_ ids: [Int32], skipSpecial: Bool = false) -> String {
        String(decoding: decode(ids, skipSpecial: skipSpecial), as: UTF8.self)
    }
}

/// The ids of pieces already encoded (most text repeats its words), for one thread.
public struct WordCache {
    private var map: [[UInt8]: [Int32]] = [:]
    /// Pieces longer than this are not cached.
    public var maxPieceBytes = 64
    /// Entries kept before the cache is emptied.
    public var capacity = 1 << 18

    public init() {}

    mutating func encode(_ piece: UnsafeBufferPointer<UInt8>, _ model: BPEModel, _ out: inout [Int32]) {
        if piece.count == 1 {
            let id = model.byteId[Int(piece[0])]
            if id >= 0 && !model.ignoreMerges { out.append(id); return }
        }
        guard piece.count <= maxPieceBytes else {
            model.encodeWord(piece, into: &out)
            return
        }
        let key = Array(piece)
        if let ids = map[key] {
            out.append(contentsOf: ids)
            return
        }
        let before = out.count
        model.encodeWord(piece, into: &out)
        if map.count >= capacity { map.removeAll(keepingCapacity: true) }
        map[key] = Array(out[before...])
    }
}
