/// A token matched whole in the input before pre-tokenization (Hugging
/// Face's `added_tokens`: `<|endoftext|>`, `<|begin_of_text|>`, ...).
/// `special` tokens are left out by `decode(skipSpecial: true)`. Tokens with
/// `normalized == false` are matched first, then the others in what remains
/// (the order `tokenizers` uses); at each position the longest match wins.
public struct AddedToken: Sendable, Equatable {
    public var id: Int
    public var content: String
    public var special: Bool
    public var normalized: Bool

    public init(id: Int, content: String, special: Bool = true, normalized: Bool? = nil) {
        self.id = id
        self.content = content
        self.special = special
        self.normalized = normalized ?? !special
    }
}

/// Finds added tokens in a byte string, leftmost first and longest at a
/// position, as the Aho-Corasick "leftmost-longest" matcher of `tokenizers` does.
struct AddedTokenMatcher: Sendable {
    /// Per first byte: (content bytes, id), longest first.
    private var byFirst: [[([UInt8], Int32)]] = Array(repeating: [], count: 256)
    var isEmpty: Bool

    init(_ tokens: [AddedToken]) {
        for t in tokens where !t.content.isEmpty {
            let bytes = Array(t.content.utf8)
            byFirst[Int(bytes[0])].append((bytes, Int32(t.id)))
        }
        for i in 0..<256 { byFirst[i].sort { $0.0.count > $1.0.count } }
        isEmpty = tokens.allSatisfy { $0.content.isEmpty }
    }

    /// Calls `text(lo, hi)` for each stretch without a token and
    /// `token(lo, hi, id)` for each match, in order, over `b[lo0..<hi0]`.
    func split(_ b: UnsafeBufferPointer<UInt8>, _ lo0: Int, _ hi0: Int,
               text: (Int, Int) -> Void, token: (Int, Int, Int32) -> Void) {
        var last = lo0
        var i = lo0
        outer: while i < hi0 {
            for (content, id) in byFirst[Int(b[i])] where content.count <= hi0 - i {
                var k = 1
                while k < content.count && b[i + k] == content[k] { k += 1 }
                if k == content.count {
                    if last < i { text(last, i) }
                    token(i, i + k, id)
                    i += k
                    last = i
                    continue outer
                }
            }
            i += 1
        }
        if last < hi0 { text(last, hi0) }
    }
}
