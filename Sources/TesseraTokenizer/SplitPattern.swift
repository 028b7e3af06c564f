/// A pre-tokenizer split pattern that Tessera matches by hand (Swift's
/// `Regex` is slow on Linux): the text is cut into the pieces the regex
/// matches, left to right, exactly as Hugging Face's `tokenizers` does with
/// the same pattern (Split with behaviour "Isolated", or ByteLevel with
/// `use_regex`). Only these two patterns are recognised; `init(regex:)`
/// names them when given another.
public enum SplitPattern: String, Sendable, CaseIterable {
    /// GPT-2's pattern (also the one `ByteLevel(use_regex: true)` applies).
    case gpt2
    /// Llama 3's pattern (case-insensitive contractions, digits in threes,
    /// newlines kept with the whitespace before them).
    case llama3

    /// The regex source as it appears in `tokenizer.json`.
    public var regex: String {
        switch self {
        case .gpt2:
            return #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
        case .llama3:
            return #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        }
    }

    /// The pattern whose regex source is `regex`, or an error naming the two supported ones.
    public init(regex: String) throws {
        guard let p = SplitPattern.allCases.first(where: { $0.regex == regex }) else {
            throw TokenizerError("tokenizer split pattern \(regex.debugDescription) is not supported; supported patterns are GPT-2's \(SplitPattern.gpt2.regex.debugDescription) and Llama 3's \(SplitPattern.llama3.regex.debugDescription)")
        }
        self = p
    }

    /// The byte ranges of the pieces of `bytes`, in order, covering it exactly.
    public func pieces(of bytes: [UInt8]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        bytes.withUnsafeBufferPointer { b in
            let t = ScalarText(b)
            forEachPiece(t) { i, e in out.append(t.start[i]..<t.start[e]) }
        }
        return out
    }

    /// Calls `body` with the unit range of each piece of `t`, in order; the
    /// pieces cover `t` exactly.
    func forEachPiece(_ t: ScalarText, _ body: (Int, Int) -> Void) {
        let n = t.count
        var i = 0
        t.value.withUnsafeBufferPointer { v in
            t.cls.withUnsafeBufferPointer { c in
                while i < n {
                    let e = self == .gpt2 ? SplitPattern.gpt2End(v, c, i) : SplitPattern.llama3End(v, c, i)
                    body(i, e)
                    i = e
                }
            }
        }
    }

    @inline(__always)
    static func run(_ c: UnsafeBufferPointer<UInt8>, from i: Int, _ test: (UInt8) -> Bool) -> Int {
        var j = i
        while j < c.count && test(c[j]) { j += 1 }
        return j
    }

    @inline(__always) static func isL(_ k: UInt8) -> Bool { k & ScalarClass.letter != 0 }
    @inline(__always) static func isN(_ k: UInt8) -> Bool { k & ScalarClass.number != 0 }
    @inline(__always) static func isS(_ k: UInt8) -> Bool { k & ScalarClass.space != 0 }
    @inline(__always) static func isNL(_ k: UInt8) -> Bool { k & ScalarClass.newline != 0 }
    @inline(__always) static func isOther(_ k: UInt8) -> Bool { k == 0 }

    /// `\s+(?!\S)|\s+` at a whitespace unit `i`: the run, less its last
    /// unit when a non-space follows and the run is longer than one.
    @inline(__always)
    static func spaceRunEnd(_ c: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int {
        let j = run(c, from: i, isS)
        if j == c.count || j - i == 1 { return j }
        return j - 1
    }

    /// End of GPT-2's match at unit `i`:
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    static func gpt2End(_ v: UnsafeBufferPointer<UInt32>, _ c: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int {
        let n = v.count
        let x = v[i]
        if x == 0x27 && i + 1 < n {
            let a = v[i + 1]
            if a == 0x73 || a == 0x74 || a == 0x6D || a == 0x64 { return i + 2 }  // s t m d
            if i + 2 < n {
                let b = v[i + 2]
                if (a == 0x72 && b == 0x65) || (a == 0x76 && b == 0x65) || (a == 0x6C && b == 0x6C) { return i + 3 }
            }
        }
        let k = c[i]
        let spaced = x == 0x20 && i + 1 < n
        if spaced && isL(c[i + 1]) { return run(c, from: i + 1, isL) }
        if isL(k) { return run(c, from: i, isL) }
        if spaced && isN(c[i + 1]) { return run(c, from: i + 1, isN) }
        if isN(k) { return run(c, from: i, isN) }
        if spaced && isOther(c[i + 1]) { return run(c, from: i + 1, isOther) }
        if isOther(k) { return run(c, from: i, isOther) }
        return spaceRunEnd(c, i)
    }

    /// Whether `a` matches the letter `lower` case-insensitively as
    /// Oniguruma folds it (`ſ` U+017F folds to `s`).
    @inline(__always)
    static func folds(_ a: UInt32, _ lower: UInt32) -> Bool {
        a == lower || a == lower - 32 || (lower == 0x73 && a == 0x17F)
    }

    /// End of Llama 3's match at unit `i`: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|
    /// [^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
    /// \s*[\r\n]+|\s+(?!\S)|\s+`.
    static func llama3End(_ v: UnsafeBufferPointer<UInt32>, _ c: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int {
        let n = v.count
        let x = v[i]
        if x == 0x27 && i + 1 < n {
            let a = v[i + 1]
            if folds(a, 0x73) || folds(a, 0x74) || folds(a, 0x6D) || folds(a, 0x64) { return i + 2 }
            if i + 2 < n {
                let b = v[i + 2]
                if (folds(a, 0x72) && folds(b, 0x65)) || (folds(a, 0x76) && folds(b, 0x65))
                    || (folds(a, 0x6C) && folds(b, 0x6C)) { return i + 3 }
            }
        }
        let k = c[i]
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if isL(k) { return run(c, from: i, isL) }
        if !isN(k) && !isNL(k) && i + 1 < n && isL(c[i + 1]) { return run(c, from: i + 1, isL) }
        // \p{N}{1,3}
        if isN(k) {
            var j = i + 1
            while j < n && j < i + 3 && isN(c[j]) { j += 1 }
            return j
        }
        // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
        if isOther(k) || (x == 0x20 && i + 1 < n && isOther(c[i + 1])) {
            let j = run(c, from: isOther(k) ? i : i + 1, isOther)
            return run(c, from: j, isNL)
        }
        // \s*[\r\n]+ : through the last newline of the whitespace run.
        let j = run(c, from: i, isS)
        var last = j - 1
        while last >= i && !isNL(c[last]) { last -= 1 }
        if last >= i { return last + 1 }
        return spaceRunEnd(c, i)
    }
}
