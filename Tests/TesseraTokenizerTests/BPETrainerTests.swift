import Foundation
import Testing
import TesseraTokenizer

/// The trainer against Hugging Face's `BpeTrainer` (fixture hf_trained.json,
/// trained on trainer_corpus.txt with vocabulary 600, min_frequency 2).
@Suite struct BPETrainerTests {
    static func corpus() -> [UInt8] {
        [UInt8](FileManager.default.contents(atPath: TokenizerFixtures.path("trainer_corpus.txt"))!)
    }

    @Test func learnsTheSameMergesAsTokenizersBpeTrainer() throws {
        let hf = try Tokenizer.load(path: TokenizerFixtures.path("hf_trained.json"))
        for threads in [1, 2] {
            let mine = try BPETrainer(vocabSize: 600, minFrequency: 2, threads: threads).train(texts: [Self.corpus()])
            #expect(mine.model.merges.count == hf.model.merges.count && mine.model.merges.count > 300)
            let same = zip(mine.model.merges, hf.model.merges).prefix { $0.0 == $0.1 && $0.0.1 == $0.1.1 }.count
            #expect(same == hf.model.merges.count, "first difference at merge \(same)")
            #expect(mine.model.vocab == hf.model.vocab)
            #expect(mine.addedTokens == hf.addedTokens)
            let text = TokenizerFixtures.cases[0].text
            #expect(mine.encode(bytes: text) == hf.encode(bytes: text))
        }
    }

    @Test func llama3PatternAndSmallVocabularies() throws {
        let t = try BPETrainer(vocabSize: 300, specialTokens: ["<s>", "</s>"], pattern: .llama3).train(texts: [Self.corpus()])
        #expect(t.vocabSize == 300 && t.model.merges.count == 42 && t.pattern == .llama3 && t.style == .splitThenByteLevel)
        #expect(t.addedTokenId("</s>") == 1)
        let again = try Tokenizer.parse(t.jsonData())
        #expect(again.encode("hello </s> world") == t.encode("hello </s> world"))
        #expect(throws: TokenizerError.self) { try BPETrainer(vocabSize: 200).validate() }
        #expect(throws: TokenizerError.self) { try BPETrainer(vocabSize: 500, specialTokens: ["a", "a"]).validate() }
    }

    @Test func parallelEncodingEqualsSerial() throws {
        let tok = try TokenizerFixtures.tokenizer("llama3_style")
        var text: [UInt8] = []
        while text.count < 300_000 { text += Self.corpus() }
        #expect(tok.encodeParallel(bytes: text, threads: 3) == tok.encode(bytes: text))
    }
}
