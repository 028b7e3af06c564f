import Foundation
import Testing
import TesseraTokenizer

/// tokenizer.json files Tessera does not implement are refused with one line
/// naming what is wrong and what is supported; the byte alphabet is GPT-2's.
@Suite struct TokenizerFileTests {
    static func fixture() throws -> [String: Any] {
        let data = FileManager.default.contents(atPath: TokenizerFixtures.path("gpt2_style.json"))!
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    static func message(_ root: [String: Any]) -> String {
        do {
            _ = try Tokenizer.parse(try JSONSerialization.data(withJSONObject: root), name: "bad.json")
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test func unsupportedModelKindsAreNamed() throws {
        for kind in ["WordPiece", "Unigram", "WordLevel"] {
            var root = try Self.fixture()
            var model = root["model"] as! [String: Any]
            model["type"] = kind
            root["model"] = model
            let m = Self.message(root)
            #expect(m.contains("bad.json") && m.contains(kind) && m.contains("byte-level BPE") && !m.contains("\n"))
        }
    }

    @Test func unsupportedPartsAreNamed() throws {
        var root = try Self.fixture()
        root["normalizer"] = ["type": "NFC"]
        #expect(Self.message(root).contains("normalizer \"NFC\""))

        root = try Self.fixture()
        root["pre_tokenizer"] = ["type": "Sequence", "pretokenizers": [
            ["type": "Split", "pattern": ["Regex": "\\w+"], "behavior": "Isolated", "invert": false],
            ["type": "ByteLevel", "add_prefix_space": false, "use_regex": false]]]
        let m = Self.message(root)
        #expect(m.contains("\\\\w+") && m.contains("GPT-2") && m.contains("Llama 3"))

        root = try Self.fixture()
        root["pre_tokenizer"] = ["type": "Whitespace"]
        #expect(Self.message(root).contains("pre_tokenizer \"Whitespace\" is not supported"))

        root = try Self.fixture()
        var model = root["model"] as! [String: Any]
        model["merges"] = [["Ġ", "t"], ["q", "zzz"]]
        root["model"] = model
        #expect(Self.message(root).contains("merge 1"))

        #expect((try? Tokenizer.parse(Data("[1, 2]".utf8))) == nil)
        do {
            _ = try Tokenizer.load(path: "/nonexistent/tok.json")
            Issue.record("loaded a missing file")
        } catch {
            #expect("\(error)".contains("/nonexistent/tok.json") && "\(error)".contains("does not exist"))
        }
    }

    @Test func byteAlphabetIsGPT2s() {
        let a = ByteLevelAlphabet.scalarForByte
        #expect(a[0x20] == "Ġ" && a[0x0A] == "Ċ" && a[0x41] == "A" && a[0xFF] == "ÿ" && a[0xAD] == "Ń" && a[0] == "Ā")
        #expect(Set(a).count == 256)
        for b in 0..<256 { #expect(ByteLevelAlphabet.byte(for: a[b]) == UInt8(b)) }
    }

    @Test func longPiecesMergeAsShortOnesDo() throws {
        // The heap path (pieces over 24 bytes) against the scan path on the same pieces.
        let tok = try TokenizerFixtures.tokenizer("gpt2_style")
        let parts = ["the", "king", "queen", "lord", "thou", "heaven", "x", "q", "z"].map { Array($0.utf8) }
        var state: UInt64 = 12345
        func next(_ n: Int) -> Int { state = state &* 6364136223846793005 &+ 1442695040888963407; return Int(state >> 33) % n }
        for _ in 0..<200 {
            var word: [UInt8] = []
            while word.count < 25 + next(60) { word += parts[next(parts.count)] }
            let bytes = word.map { tok.model.idOfByte($0)! }
            let scan = tok.model.merge(bytes, withHeap: false)
            #expect(tok.model.merge(bytes, withHeap: true) == scan)
            #expect(tok.model.encode(piece: word) == scan)
            #expect(scan.count < bytes.count)
        }
    }
}
