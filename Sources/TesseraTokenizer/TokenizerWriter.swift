import Foundation
import TesseraSupport

/// Writing a `Tokenizer` as a Hugging Face `tokenizer.json` that
/// `tokenizers.Tokenizer.from_file` loads and that encodes identically.
/// The output is canonical (vocabulary by id, merges by rank, fixed key
/// order), so equal tokenizers give equal bytes and `sha256` names one.
extension Tokenizer {
    /// The `tokenizer.json` bytes.
    public func jsonData() -> Data {
        var j = JSONText()
        j.raw("{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [")
        for (i, t) in addedTokens.enumerated() {
            j.raw(i == 0 ? "\n    " : ",\n    ")
            j.raw("{\"id\": \(t.id), \"content\": "); j.string(t.content)
            j.raw(", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": \(t.normalized), \"special\": \(t.special)}")
        }
        j.raw(addedTokens.isEmpty ? "],\n" : "\n  ],\n")
        j.raw("  \"normalizer\": null,\n  \"pre_tokenizer\": ")
        let byteLevel = "{\"type\": \"ByteLevel\", \"add_prefix_space\": \(addPrefixSpace), \"trim_offsets\": true, \"use_regex\": \(pattern != nil)}"
        switch (style, pattern) {
        case (.splitThenByteLevel, let p?):
            j.raw("{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": {\"Regex\": ")
            j.string(p.regex)
            j.raw("}, \"behavior\": \"Isolated\", \"invert\": false}, {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": false}]}")
        default:
            j.raw(byteLevel)
        }
        j.raw(",\n  \"post_processor\": ")
        if let template {
            j.raw("{\"type\": \"TemplateProcessing\", \"single\": [")
            writeTemplate(&j, template, pair: false)
            j.raw("], \"pair\": [")
            writeTemplate(&j, template, pair: true)
            j.raw("], \"special_tokens\": {")
            var first = true
            for case .special(let name, let ids) in template {
                if !first { j.raw(", ") }
                first = false
                j.string(name); j.raw(": {\"id\": "); j.string(name)
                j.raw(", \"ids\": [\(ids.map(String.init).joined(separator: ", "))], \"tokens\": [")
                j.string(name); j.raw("]}")
            }
            j.raw("}}")
        } else {
            j.raw("{\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": false, \"use_regex\": true}")
        }
        j.raw(",\n  \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": true, \"use_regex\": true},\n")
        j.raw("  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": ")
        if let unk = model.unkToken { j.string(unk) } else { j.raw("null") }
        j.raw(",\n    \"continuing_subword_prefix\": null,\n    \"end_of_word_suffix\": null,\n")
        j.raw("    \"fuse_unk\": \(model.fuseUnk),\n    \"byte_fallback\": false,\n    \"ignore_merges\": \(model.ignoreMerges),\n    \"vocab\": {")
        let byId = model.vocab.sorted { $0.value < $1.value || ($0.value == $1.value && $0.key < $1.key) }
        for (i, (token, id)) in byId.enumerated() {
            j.raw(i == 0 ? "\n      " : ",\n      ")
            j.string(token); j.raw(": \(id)")
        }
        j.raw("\n    },\n    \"merges\": [")
        for (i, (a, b)) in model.merges.enumerated() {
            j.raw(i == 0 ? "\n      [" : ",\n      [")
            j.string(a); j.raw(", "); j.string(b); j.raw("]")
        }
        j.raw("\n    ]\n  }\n}\n")
        return Data(j.bytes)
    }

    private func writeTemplate(_ j: inout JSONText, _ items: [TemplateItem], pair: Bool) {
        var first = true
        func sep() { if !first { j.raw(", ") }; first = false }
        for item in items {
            switch item {
            case .special(let name, _):
                sep(); j.raw("{\"SpecialToken\": {\"id\": "); j.string(name); j.raw(", \"type_id\": 0}}")
            case .sequence:
                sep(); j.raw("{\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}")
                if pair { sep(); j.raw("{\"Sequence\": {\"id\": \"B\", \"type_id\": 1}}") }
            }
        }
    }

    /// Writes the `tokenizer.json` to `path` whole or not at all (`AtomicFile`).
    public func write(to path: String) throws {
        try AtomicFile.write(jsonData(), to: path)
    }
}

/// A JSON text built by appending (strings escaped per RFC 8259).
struct JSONText {
    var bytes: [UInt8] = []
    mutating func raw(_ s: String) { bytes.append(contentsOf: s.utf8) }
    mutating func string(_ s: String) {
        bytes.append(0x22)
        for b in s.utf8 {
            switch b {
            case 0x22: bytes.append(contentsOf: [0x5C, 0x22])
            case 0x5C: bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: bytes.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: bytes.append(contentsOf: [0x5C, 0x72])
            case 0x09: bytes.append(contentsOf: [0x5C, 0x74])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 15)]])
            default: bytes.append(b)
            }
        }
        bytes.append(0x22)
    }
}
