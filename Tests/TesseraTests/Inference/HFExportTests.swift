import Foundation
import Testing
import Tessera
import TesseraTokenizer

/// `export --hf` with a tokenizer: the files transformers needs, written
/// whole through a staging directory that leaves nothing behind, and read
/// back with the same tokenizer.
@Suite struct HFExportTests {
    @Test func anExportCarriesItsTokenizerAndLeavesNothingElse() throws {
        let parent = TestSupport.temporaryPath("hf-out")
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let text = Array(String(repeating: "one two three four, five six seven. ", count: 30).utf8)
        let tok = try BPETrainer(vocabSize: 256 + 1 + 20).train(texts: [text])
        let weights = try GenerationTests.weights(GPTConfig(vocab: 320, seqLen: 32, layers: 1, dModel: 32, heads: 2, dropout: 0))
        let dir = parent + "/model"
        try HFExport.write(weights, to: dir, tokenizer: tok)
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent) == ["model"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
            == ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"])
        let tokConfig = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/tokenizer_config.json"))) as! [String: Any]
        #expect(tokConfig["tokenizer_class"] as? String == "PreTrainedTokenizerFast" && tokConfig["eos_token"] as? String == "<|endoftext|>")
        #expect(tokConfig["model_max_length"] as? Int == 32)
        let back = try ModelWeights.load(dir)
        #expect(back.config.tokenizerSha256 == tok.sha256)
        // Generation through the tokenizer: the same ids from the export as from the weights it came from.
        var plan = GenerationTests.greedy([Array("one two".utf8)], tokens: 6)
        plan.tokenizer = tok
        let ids = try GenerationTests.generate(plan, back).tokens[0]
        #expect(ids.count == 6 && ids.allSatisfy { (0..<Int32(tok.vocabSize)).contains($0) })
        #expect(try GenerationTests.generate(plan, weights).tokens[0] == ids)
        // A second export replaces Tessera's own, again leaving only the directory.
        try HFExport.write(back, to: dir, tokenizer: tok)
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent) == ["model"])
        // A tokenizer larger than the model's vocabulary is refused before anything is written.
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("TesseraTokenizerTests/Fixtures/trainer_corpus.txt")
        let big = try BPETrainer(vocabSize: 400).train(texts: [Array(try Data(contentsOf: corpus))])
        #expect(big.vocabSize == 400)
        #expect(TestSupport.message { try HFExport.write(weights, to: parent + "/other", tokenizer: big) }.contains("vocabulary is 320"))
        #expect(!FileManager.default.fileExists(atPath: parent + "/other"))
    }

    @Test func aLlamaExportsInHuggingFacesNamesAndReadsBackWhole() throws {
        let dir = TestSupport.temporaryPath("hf-llama")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var shape = GPTConfig(vocab: 256, seqLen: 32, layers: 2, dModel: 32, heads: 4, dropout: 0)
        shape.arch = .llama
        shape.kvHeads = 2
        shape.ffnHidden = 48
        let weights = try GenerationTests.weights(shape)
        try HFExport.write(weights, to: dir)
        let file = try SafeTensors.read(path: dir + "/model.safetensors")
        #expect(file.arrays["model.layers.1.self_attn.k_proj.weight"]?.shape == [16, 32])
        #expect(file.arrays["lm_head.weight"]?.shape == [256, 32] && file.arrays["model.norm.weight"]?.shape == [32])
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/config.json"))) as! [String: Any]
        #expect(config["architectures"] as? [String] == ["LlamaForCausalLM"] && config["num_key_value_heads"] as? Int == 2)
        #expect(config["intermediate_size"] as? Int == 48 && config["tie_word_embeddings"] as? Bool == false)
        let back = try ModelWeights.load(dir)
        #expect(back.config.model == weights.config.model)
        for (name, p) in weights.parameters { #expect(back.parameters[name]?.values == p.values, "\(name)") }
    }
}
