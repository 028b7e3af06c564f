import Foundation
import Testing
import TesseraTokenizer

/// Tessera's tokenizer against Hugging Face's `tokenizers` (fixtures made by
/// the package): same pieces, same ids, same decodings, token for token.
@Suite struct TokenizerCompatibilityTests {
    static let names = ["gpt2_style", "gpt2_prefix", "llama3_style"]

    @Test func splitPatternsCutTheSamePiecesAsTheRegexEngine() {
        for c in TokenizerFixtures.cases {
            for (pattern, key) in [(SplitPattern.gpt2, "pieces_gpt2"), (.llama3, "pieces_llama3")] {
                let pieces = pattern.pieces(of: c.text).map { String(decoding: c.text[$0], as: UTF8.self) }
                #expect(pieces == c.pieces(key), "\(pattern) pieces differ on \(c.name)")
            }
        }
    }

    @Test func encodingEqualsTheTokenizersPackage() throws {
        for name in Self.names {
            let tok = try TokenizerFixtures.tokenizer(name)
            var mismatches = 0
            for c in TokenizerFixtures.cases {
                // tokenizers takes text: ill-formed bytes were replaced by U+FFFD there, as Swift does.
                #expect(Array(String(decoding: c.bytes, as: UTF8.self).utf8) == c.text, "lossy decoding differs on \(c.name)")
                let plain = tok.encode(bytes: c.text, addSpecialTokens: false)
                let special = tok.encode(bytes: c.text, addSpecialTokens: true)
                if plain != c.ids(name) || special != c.ids(name + "+special") { mismatches += 1 }
                #expect(plain == c.ids(name), "\(name) ids differ on \(c.name)")
                #expect(special == c.ids(name + "+special"), "\(name) ids with special tokens differ on \(c.name)")
            }
            #expect(mismatches == 0)
        }
    }

    @Test func theFixturesExerciseTheirFeatures() throws {
        let llama = try TokenizerFixtures.tokenizer("llama3_style")
        #expect(llama.model.ignoreMerges && llama.pattern == .llama3 && llama.template != nil)
        let stress = TokenizerFixtures.cases[0]
        let bos = Int32(llama.addedTokenId("<|begin_of_text|>")!)
        #expect(stress.ids("llama3_style+special").first == bos && stress.ids("llama3_style").first != bos)
        let gpt2 = try TokenizerFixtures.tokenizer("gpt2_style")
        let eot = Int32(gpt2.addedTokenId("<|endoftext|>")!)
        #expect(stress.ids("gpt2_style").filter { $0 == eot }.count == 2)
        #expect(try TokenizerFixtures.tokenizer("gpt2_prefix").addPrefixSpace)
        #expect(stress.ids("gpt2_style").count > 600)
    }

    @Test func decodingEqualsTheTokenizersPackage() throws {
        for d in TokenizerFixtures.decodes {
            let tok = try TokenizerFixtures.tokenizer(d.tokenizer)
            #expect(Array(tok.decodeText(d.ids).utf8) == d.text, "\(d.tokenizer) decodes \(d.ids) differently")
            #expect(Array(tok.decodeText(d.ids, skipSpecial: true).utf8) == d.skip)
        }
    }

    @Test func encodingAnyBytesDecodesToThemExactly() throws {
        for name in Self.names {
            let tok = try TokenizerFixtures.tokenizer(name)
            for c in TokenizerFixtures.cases where !c.name.contains("pecials") && !c.name.hasPrefix("stress") {
                let ids = tok.encode(bytes: c.bytes, addSpecialTokens: false)
                let back = tok.decode(ids)
                let spaced = tok.addPrefixSpace && c.bytes.first != 0x20 && !c.bytes.isEmpty
                #expect(back == (spaced ? [0x20] + c.bytes : c.bytes), "\(name) round trip of \(c.name)")
            }
        }
    }

    @Test func mergesAsStringsLoadTheSameTokenizer() throws {
        let data = FileManager.default.contents(atPath: TokenizerFixtures.path("gpt2_style.json"))!
        var root = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        var model = root["model"] as! [String: Any]
        model["merges"] = (model["merges"] as! [[String]]).map { "\($0[0]) \($0[1])" }
        root["model"] = model
        let legacy = try Tokenizer.parse(try JSONSerialization.data(withJSONObject: root))
        let pairs = try TokenizerFixtures.tokenizer("gpt2_style")
        let text = TokenizerFixtures.cases[0].text
        #expect(legacy.model.merges.count == pairs.model.merges.count && legacy.model.merges.count > 400)
        #expect(legacy.encode(bytes: text) == pairs.encode(bytes: text))
    }

    @Test func writtenTokenizerReadsBackIdentically() throws {
        for name in Self.names {
            let tok = try TokenizerFixtures.tokenizer(name)
            let again = try Tokenizer.parse(tok.jsonData())
            #expect(again.jsonData() == tok.jsonData())
            for c in TokenizerFixtures.cases.prefix(8) {
                #expect(again.encode(bytes: c.text) == c.ids(name + "+special"))
            }
        }
    }
}
