import Foundation
import Testing
import Tessera

/// `tessera export --gguf`: the file's layout (checked here without Python;
/// scripts/check_gguf_export.py reads it with the gguf package and llama.cpp).
@Suite struct GGUFExportTests {
    static func u32(_ d: Data, _ at: Int) -> UInt32 { d[at..<(at + 4)].reversed().reduce(0) { $0 << 8 | UInt32($1) } }
    static func u64(_ d: Data, _ at: Int) -> UInt64 { d[at..<(at + 8)].reversed().reduce(0) { $0 << 8 | UInt64($1) } }

    @Test(arguments: WeightFormat.allCases)
    func headerTensorsAndQ8Blocks(format: WeightFormat) throws {
        let weights = try GenerationTests.weights()  // 4 layers, d 32, vocab 256, context 48
        let path = TestSupport.temporaryPath("model.gguf")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try GPT2GGUFExport.write(weights, to: path, format: format)
        let d = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(Array(d.prefix(4)) == Array("GGUF".utf8) && Self.u32(d, 4) == 3)
        // wte, wpe, 12 per block, output_norm's two, and the head as output.weight.
        #expect(Self.u64(d, 8) == 2 + 12 * 4 + 2 + 1)
        let file = GPT2GGUFExport.file(weights, format: format)
        #expect(file.encoded() == d)
        let names = file.tensors.map(\.name)
        #expect(names.contains("blk.3.attn_qkv.weight") && names.contains("blk.0.ffn_down.bias") && names.contains("output.weight"))
        let qkv = file.tensors.first { $0.name == "blk.0.attn_qkv.weight" }!
        #expect(qkv.shape == [96, 32])
        let values = weights.parameters.first { $0.key.hasSuffix("0.attn.qkv.weight") }!.value.values
        switch format {
        case .fp32: #expect(qkv.type == .f32 && qkv.bytes == GGUFFile.f32(values))
        case .bf16: #expect(qkv.type == .bf16 && qkv.bytes.count == 2 * values.count)
        case .int8:
            let q = values.withUnsafeBufferPointer { Q8Matrix(quantizing: $0.baseAddress!, rows: 96, cols: 32) }
            #expect(qkv.type == .q8_0 && qkv.bytes == GGUFFile.q8_0(q) && qkv.bytes.count == 96 * 34)
        }
        // Embeddings and LayerNorms stay F32 whatever the format.
        #expect(file.tensors.first { $0.name == "token_embd.weight" }!.type == .f32)
        #expect(file.tensors.first { $0.name == "blk.1.attn_norm.bias" }!.type == .f32)
        // Every tensor's data starts on the 32-byte alignment, in the order written.
        #expect(d.count % 32 == 0)
        // Its own export may be replaced.
        try GPT2GGUFExport.write(weights, to: path, format: format)
    }

    @Test func refusesToReplaceOtherFilesAndOtherModels() throws {
        let weights = try GenerationTests.weights()
        let path = TestSupport.temporaryPath("other.gguf")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data("not a model".utf8).write(to: URL(fileURLWithPath: path))
        #expect(TestSupport.message { try GPT2GGUFExport.write(weights, to: path, format: .fp32) }
            .contains("it exists and is not a GGUF file Tessera wrote"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data("not a model".utf8))
        let odd = try GenerationTests.weights(GPTConfig(vocab: 256, seqLen: 16, layers: 1, dModel: 24, heads: 2, dropout: 0))
        #expect(TestSupport.message { try GPT2GGUFExport.write(odd, to: path + "2", format: .int8) }
            .contains("needs d-model a multiple of 32, got 24"))
    }
}
