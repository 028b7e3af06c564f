import Foundation
import TesseraSupport

/// Reading a Hugging Face `tokenizer.json` into a `Tokenizer`. Supported:
/// model `BPE` (merges as "a b" strings or [a, b] pairs, `ignore_merges`,
/// `unk_token`, no dropout, no subword prefix/suffix, no byte fallback);
/// normalizer null; pre-tokenizer `ByteLevel` (with or without the GPT-2
/// regex) or `Sequence[Split(GPT-2's or Llama 3's regex, Isolated), ByteLevel]`;
/// decoder `ByteLevel`; post-processor null, `ByteLevel`,
/// `TemplateProcessing` (its single-sequence template) or a `Sequence` of
/// those. Anything else is refused with a message naming it.
extension Tokenizer {
    /// The tokenizer in the `tokenizer.json` at `path`.
    public static func load(path: String) throws -> Tokenizer {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw TokenizerError("tokenizer file \(path) does not exist")
        }
        guard !isDir.boolValue else { throw TokenizerError("tokenizer \(path) is a directory; give its tokenizer.json") }
        if let kind = FileCause.kind(of: path), kind != "a regular file" { throw TokenizerError("tokenizer file \(path) is \(kind), not a regular file") }
        guard let data = FileManager.default.contents(atPath: path) else { throw TokenizerError("tokenizer file \(path) cannot be read") }
        return try parse(data, name: path)
    }

    /// The tokenizer in `data`, a `tokenizer.json`'s bytes (`name` appears in errors).
    public static func parse(_ data: Data, name: String = "tokenizer.json") throws -> Tokenizer {
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw TokenizerError("tokenizer file \(name) is not a JSON object (expected a Hugging Face tokenizer.json)")
        }
        func fail(_ what: String) -> TokenizerError { TokenizerError("tokenizer file \(name): \(what)") }
        guard let model = root["model"] as? [String: Any] else { throw fail("has no \"model\" object") }
        let kind = model["type"] as? String ?? (model["merges"] != nil ? "BPE" : "unknown")
        guard kind == "BPE" else {
            throw fail("model type \(kind) is not supported; Tessera supports byte-level BPE tokenizers (GPT-2's and Llama 3's kind), not WordPiece, Unigram or WordLevel")
        }
        if let d = model["dropout"], !(d is NSNull) { throw fail("BPE dropout is not supported (encoding must be deterministic)") }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let v = model[key] as? String, !v.isEmpty { throw fail("BPE \(key) \(v.debugDescription) is not supported (byte-level BPE has none)") }
        }
        if (model["byte_fallback"] as? Bool) == true { throw fail("BPE byte_fallback is not supported (only byte-level BPE is)") }
        guard let vocabAny = model["vocab"] as? [String: Any] else { throw fail("model has no \"vocab\" object") }
        var vocab: [String: Int] = [:]
        vocab.reserveCapacity(vocabAny.count)
        for (k, v) in vocabAny {
            guard let id = (v as? NSNumber)?.intValue else { throw fail("vocab entry \(k.debugDescription) has no integer id") }
            vocab[k] = id
        }
        var merges: [(String, String)] = []
        let mergesAny = model["merges"] as? [Any] ?? []
        merges.reserveCapacity(mergesAny.count)
        for (i, m) in mergesAny.enumerated() {
            if let s = m as? String {
                let parts = s.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw fail("merge \(i) \(s.debugDescription) is not two tokens separated by one space") }
                merges.append((String(parts[0]), String(parts[1])))
            } else if let p = m as? [Any], p.count == 2, let a = p[0] as? String, let b = p[1] as? String {
                merges.append((a, b))
            } else {
                throw fail("merge \(i) is neither \"a b\" nor [a, b]")
            }
        }
        let bpe = try BPEModel(vocab: vocab, merges: merges, ignoreMerges: (model["ignore_merges"] as? Bool) ?? false,
                               unkToken: model["unk_token"] as? String, fuseUnk: (model["fuse_unk"] as? Bool) ?? false)

        if let n = root["normalizer"], !(n is NSNull) {
            throw fail("normalizer \(typeName(n)) is not supported (byte-level BPE tokenizers like GPT-2's and Llama 3's have none)")
        }
        guard let decoder = root["decoder"] as? [String: Any], decoder["type"] as? String == "ByteLevel" else {
            throw fail("decoder \(typeName(root["decoder"] ?? NSNull())) is not supported; only ByteLevel is")
        }
        let (pattern, style, prefix) = try preTokenizer(root["pre_tokenizer"] ?? NSNull(), fail)
        let template = try postProcessor(root["post_processor"] ?? NSNull(), fail)

        var added: [AddedToken] = []
        for (i, a) in (root["added_tokens"] as? [[String: Any]] ?? []).enumerated() {
            guard let id = (a["id"] as? NSNumber)?.intValue, let content = a["content"] as? String else {
                throw fail("added token \(i) has no id or content")
            }
            for flag in ["single_word", "lstrip", "rstrip"] where (a[flag] as? Bool) == true {
                throw fail("added token \(content.debugDescription) sets \(flag), which is not supported")
            }
            let special = (a["special"] as? Bool) ?? false
            added.append(AddedToken(id: id, content: content, special: special, normalized: (a["normalized"] as? Bool) ?? !special))
        }
        return Tokenizer(model: bpe, addedTokens: added, pattern: pattern, style: style, addPrefixSpace: prefix, template: template)
    }

    private static func typeName(_ v: Any) -> String {
        if v is NSNull { return "null" }
        return ((v as? [String: Any])?["type"] as? String).map { "\"\($0)\"" } ?? "(untyped)"
    }

    private static func preTokenizer(_ v: Any, _ fail: (String) -> TokenizerError) throws -> (SplitPattern?, PreTokenizerStyle, Bool) {
        let supported = "supported are ByteLevel and Sequence[Split(GPT-2's or Llama 3's regex, Isolated), ByteLevel]"
        guard let o = v as? [String: Any], let type = o["type"] as? String else { throw fail("pre_tokenizer \(typeName(v)) is not supported; \(supported)") }
        if type == "ByteLevel" {
            let useRegex = (o["use_regex"] as? Bool) ?? true
            return (useRegex ? .gpt2 : nil, .byteLevel, (o["add_prefix_space"] as? Bool) ?? false)
        }
        guard type == "Sequence", let list = o["pretokenizers"] as? [[String: Any]] else {
            throw fail("pre_tokenizer \"\(type)\" is not supported; \(supported)")
        }
        if list.count == 1 { return try preTokenizer(list[0], fail) }
        guard list.count == 2, list[0]["type"] as? String == "Split", list[1]["type"] as? String == "ByteLevel" else {
            throw fail("pre_tokenizer Sequence[\(list.map { $0["type"] as? String ?? "?" }.joined(separator: ", "))] is not supported; \(supported)")
        }
        let split = list[0], byteLevel = list[1]
        guard let p = split["pattern"] as? [String: Any], let regex = p["Regex"] as? String else {
            throw fail("Split pre-tokenizer needs a {\"Regex\": ...} pattern")
        }
        guard (split["behavior"] as? String) == "Isolated", (split["invert"] as? Bool) != true else {
            throw fail("Split behavior \((split["behavior"] as? String ?? "?").debugDescription) is not supported; only Isolated without invert is")
        }
        if (byteLevel["use_regex"] as? Bool) ?? true { throw fail("ByteLevel after Split must have use_regex false") }
        if (byteLevel["add_prefix_space"] as? Bool) == true { throw fail("ByteLevel add_prefix_space after Split is not supported") }
        do { return (try SplitPattern(regex: regex), .splitThenByteLevel, false) } catch let e as TokenizerError { throw fail(e.message) }
    }

    private static func postProcessor(_ v: Any, _ fail: (String) -> TokenizerError) throws -> [TemplateItem]? {
        if v is NSNull { return nil }
        guard let o = v as? [String: Any], let type = o["type"] as? String else { throw fail("post_processor is not an object") }
        switch type {
        case "ByteLevel":
            return nil
        case "Sequence":
            var result: [TemplateItem]? = nil
            for p in o["processors"] as? [Any] ?? [] {
                if let t = try postProcessor(p, fail) {
                    guard result == nil else { throw fail("post_processor Sequence has two templates") }
                    result = t
                }
            }
            return result
        case "TemplateProcessing":
            let specials = o["special_tokens"] as? [String: [String: Any]] ?? [:]
            var items: [TemplateItem] = []
            for item in o["single"] as? [[String: Any]] ?? [] {
                if let s = item["SpecialToken"] as? [String: Any], let name = s["id"] as? String {
                    guard let ids = (specials[name]?["ids"] as? [NSNumber])?.map(\.intValue) else {
                        throw fail("template token \(name.debugDescription) has no ids in special_tokens")
                    }
                    items.append(.special(name: name, ids: ids))
                } else if let s = item["Sequence"] as? [String: Any], s["id"] as? String == "A" {
                    items.append(.sequence)
                } else {
                    throw fail("template item \(item) is not supported")
                }
            }
            return items
        default:
            throw fail("post_processor \"\(type)\" is not supported; supported are ByteLevel, TemplateProcessing and a Sequence of them")
        }
    }
}
