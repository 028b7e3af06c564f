import Foundation
import Testing
import Tessera
import TesseraTokenizer

/// Reading Hugging Face directories that transformers itself saved
/// (Fixtures/HF/make_hf_fixtures.py: GPT-2 bf16 sharded and fp16 whole, a
/// grouped-query untied Llama in bf16), against the
/// logits transformers computed on the same weights upcast to float32; and
/// the one-line errors for what Tessera cannot read.
@Suite struct HFImportTests {
    static func fixture(_ name: String) -> String { TestSupport.fixture("HF/" + name) }

    /// The logits of the model in `dir` on the fixture's ids, and transformers' own.
    static func logits(_ dir: String) throws -> (ours: [Float], theirs: [Float]) {
        let weights = try ModelWeights.load(dir)
        let model = GPT(weights.config.model, seed: 0)
        try weights.restore(into: model.parameters, source: dir)
        let expected = try SafeTensors.read(path: dir + "/expected.safetensors")
        guard case .i32(_, let ids)? = expected.arrays["ids"] else { throw CheckpointError("fixture without ids") }
        let ctx = ForwardContext(samples: 1, positions: ids.count, sampleOffset: 0, step: 0, seed: 0, dropout: 0)
        let out = try model.logits(ids, ctx)
        return (Array(UnsafeBufferPointer(start: out.data, count: out.count)), try expected.floats("logits", in: dir).values)
    }

    @Test(arguments: ["gpt2_bf16_sharded", "gpt2_fp16", "llama_bf16"])
    func logitsEqualTransformersOnTheUpcastWeights(name: String) throws {
        let (ours, theirs) = try Self.logits(Self.fixture(name))
        #expect(ours.count == 24 * 260)
        #expect(TestSupport.relativeError(ours, theirs) < 1e-5, "\(name)")
    }

    @Test func halfPrecisionConvertsExactly() throws {
        // binary16: 1, the largest normal, the smallest subnormal, −2, infinity; bfloat16 is a float32's top half.
        let f16: [UInt16] = [0x3C00, 0x7BFF, 0x0001, 0xC000, 0x7C00], bf16: [UInt16] = [0x3F80, 0xC2F7]
        var header = #"{"a":{"dtype":"F16","shape":[5],"data_offsets":[0,10]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[10,14]}}"#
        while header.utf8.count % 8 != 0 { header += " " }
        var data = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(Data(header.utf8))
        for h in f16 + bf16 { withUnsafeBytes(of: h.littleEndian) { data.append(contentsOf: $0) } }
        let file = try SafeTensors.decode(data, path: "half")
        #expect(try file.floats("a", in: "half").values == [1, 65504, 5.9604645e-8, -2, .infinity])
        #expect(try file.floats("b", in: "half").values == [1, -123.5])
        // A byte no entry covers is refused (the format indexes the whole buffer).
        #expect(TestSupport.message { _ = try SafeTensors.decode(data + Data([0]), path: "half") }
            .contains("the last 1 bytes belong to no entry"))
    }

    /// A copy of a fixture directory in which `edit` changes something; returns the error loading it gives.
    func loadingEdited(_ name: String, _ edit: (String) throws -> Void) throws -> String {
        let dir = TestSupport.temporaryPath("hf-edit")
        try FileManager.default.copyItem(atPath: Self.fixture(name), toPath: dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try edit(dir)
        return TestSupport.message { _ = try ModelWeights.load(dir) }
    }

    func editConfig(_ dir: String, _ change: (inout [String: Any]) -> Void) throws {
        let path = dir + "/config.json"
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        change(&json)
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
    }

    @Test func whatTesseraCannotReadIsOneLineNamingIt() throws {
        let arch = try loadingEdited("gpt2_fp16") { try editConfig($0) { $0["architectures"] = ["BertForMaskedLM"] } }
        #expect(arch.contains("architectures is BertForMaskedLM; Tessera reads GPT2LMHeadModel"), "\(arch)")
        let cross = try loadingEdited("gpt2_fp16") { try editConfig($0) { $0["add_cross_attention"] = true } }
        #expect(cross.contains("'add_cross_attention' is true"), "\(cross)")
        let noWeights = try loadingEdited("gpt2_fp16") { try FileManager.default.removeItem(atPath: $0 + "/model.safetensors") }
        #expect(noWeights.contains("has neither model.safetensors nor model.safetensors.index.json"), "\(noWeights)")
        let shard = try loadingEdited("gpt2_bf16_sharded") {
            try FileManager.default.removeItem(atPath: $0 + "/model-00002-of-00004.safetensors")
        }
        #expect(shard.contains("model-00002-of-00004.safetensors"), "\(shard)")
        // A shard cut short: its header promises bytes the file does not have.
        let truncated = try loadingEdited("gpt2_fp16") { dir in
            let path = dir + "/model.safetensors"
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            try data.prefix(data.count - 10).write(to: URL(fileURLWithPath: path))
        }
        #expect(truncated.contains("is not a valid safetensors file") && truncated.contains("inconsistent with F16 shape"), "\(truncated)")
        // A stray tensor in the index that no shard holds.
        let index = try loadingEdited("gpt2_bf16_sharded") { dir in
            let path = dir + "/model.safetensors.index.json"
            var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
            var map = json["weight_map"] as! [String: String]
            map["transformer.h.0.attn.c_attn.weight"] = "model-00001-of-00004.safetensors"
            json["weight_map"] = map
            try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        }
        #expect(index.contains("transformer.h.0.attn.c_attn.weight"), "\(index)")
        // Llama: a rope scaling Tessera does not implement, and a tensor of the wrong shape.
        let rope = try loadingEdited("llama_bf16") {
            try editConfig($0) { $0["rope_parameters"] = ["rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0] }
        }
        #expect(rope.contains("rope_parameters.rope_type is 'llama3'; Tessera implements only 'default'"), "\(rope)")
        let ffn = try loadingEdited("llama_bf16") { try editConfig($0) { $0["intermediate_size"] = 96 } }
        #expect(ffn.contains("'model.layers.0.mlp.gate_proj.weight' has shape [80, 32]; config.json implies [96, 32]"), "\(ffn)")
    }

    @Test func aTokenizerBesideTheWeightsBecomesTheModelsTokenizer() throws {
        let dir = TestSupport.temporaryPath("hf-tok")
        try FileManager.default.copyItem(atPath: Self.fixture("gpt2_fp16"), toPath: dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = Array(String(repeating: "the cat sat on the mat; the dog sat on the log. ", count: 20).utf8)
        let small = try BPETrainer(vocabSize: 260).train(texts: [text])
        try small.write(to: dir + "/tokenizer.json")
        let weights = try ModelWeights.load(dir)
        #expect(weights.config.tokenizer == dir + "/tokenizer.json" && weights.config.tokenizerSha256 == small.sha256)
        #expect(try RunTokenizer.resolve(weights.config)?.sha256 == small.sha256)
        // A tokenizer with more ids than the model's vocabulary (260) is refused, naming both.
        try BPETrainer(vocabSize: 270).train(texts: [text]).write(to: dir + "/tokenizer.json")
        let big = TestSupport.message { _ = try ModelWeights.load(dir) }
        #expect(big.contains("ids but") && big.contains("has vocab_size 260"), "\(big)")
    }
}
