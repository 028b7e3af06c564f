import Foundation
import TesseraSupport
import TesseraKernels
import TesseraModel
import TesseraTokenizer

/// Writes a GPT-2-family model as one GGUF file in the layout llama.cpp's
/// `gpt2` architecture loads (the names and keys its converter,
/// `convert_hf_to_gguf.py`, writes for GPT-2): `token_embd`,
/// `position_embd`, `blk.N.{attn_norm, attn_qkv, attn_output, ffn_norm,
/// ffn_up, ffn_down}` with weights and biases, `output_norm` and `output`
/// (the head, tied to wte, stored as its own tensor as the converter does).
/// Linear weights keep Tessera's [out, in] rows (GGML's ne = [in, out]).
///
/// `weights` picks the matrix weights' type, the products' operands: F32,
/// BF16, or Q8_0 (`Q8Matrix`, the same blocks `generate --weights int8`
/// multiplies). Embeddings, LayerNorms and biases stay F32, as generation
/// reads them. The vocabulary is Tessera's bytes in GPT-2's byte-level
/// alphabet (token i is byte i, no merges), so llama.cpp's tokenizer maps
/// text to the same ids.
public enum GPT2GGUFExport {
    /// The first metadata key, marking a file as Tessera's export (the only kind it overwrites).
    static let marker = "tessera.export"

    public static func write(_ weights: Checkpoint, to path: String, format: WeightFormat) throws {
        let m = weights.config.model
        if m.arch != .gpt2 {
            throw ConfigError("export --gguf writes the gpt2 architecture only; this model is arch \(m.arch.rawValue) (use export --hf)")
        }
        if m.hasExperts {
            throw ConfigError("a model with experts (\(m.experts) per MoE block) has no GPT-2 form to export to; "
                              + "export --gguf takes dense models (experts 0)")
        }
        if weights.config.tokenizerSha256 != nil || m.vocab != 256 {
            throw ConfigError("export --gguf writes byte-level models (vocab 256, no tokenizer) today; this model has vocab "
                              + "\(m.vocab)\(weights.config.tokenizerSha256 == nil ? "" : " and a tokenizer"); use export --hf")
        }
        if format == .int8, m.dModel % Q8Matrix.blockSize != 0 {
            throw ConfigError("--weights int8 (Q8_0) needs d-model a multiple of \(Q8Matrix.blockSize), got \(m.dModel); "
                              + "use fp32 or bf16")
        }
        try requireWritable(path)
        try AtomicFile.write(file(weights, format: format).encoded(), to: path)
    }

    /// The GGUF file for `weights` (see the type's note).
    public static func file(_ weights: Checkpoint, format: WeightFormat) -> GGUFFile {
        let m = weights.config.model
        var f = GGUFFile()
        let fileType: UInt32 = switch format { case .fp32: 0; case .bf16: 32; case .int8: 7 }  // llama_ftype
        f.metadata = [
            (marker, .bool(true)),
            ("general.architecture", .string("gpt2")), ("general.name", .string("tessera")),
            ("general.file_type", .uint32(fileType)), ("general.alignment", .uint32(UInt32(GGUFFile.alignment))),
            ("gpt2.context_length", .uint32(UInt32(m.seqLen))), ("gpt2.embedding_length", .uint32(UInt32(m.dModel))),
            ("gpt2.feed_forward_length", .uint32(UInt32(4 * m.dModel))), ("gpt2.block_count", .uint32(UInt32(m.layers))),
            ("gpt2.attention.head_count", .uint32(UInt32(m.heads))),
            ("gpt2.attention.layer_norm_epsilon", .float32(Float(GPT2Layout.layerNormEpsilon))),
            ("tokenizer.ggml.model", .string("gpt2")), ("tokenizer.ggml.pre", .string("gpt-2")),
            ("tokenizer.ggml.tokens", .strings((0..<256).map { ByteLevelAlphabet.encode([UInt8($0)]) })),
            ("tokenizer.ggml.token_type", .int32s(Array(repeating: 1, count: 256))),  // 1: normal
            ("tokenizer.ggml.merges", .strings([])),
        ]
        for (name, shape) in GPT.parameterLayout(m) {
            let values = weights.parameters[name]!.values
            let isMatrix = shape.count == 2 && !["wte", "wpe"].contains(name)
            f.tensors.append(tensor(ggufName(name), shape, values, isMatrix ? format : .fp32))
            if name == "wte" { f.tensors.append(tensor("output.weight", shape, values, format)) }
        }
        return f
    }

    static func tensor(_ name: String, _ shape: [Int], _ values: [Float], _ format: WeightFormat) -> GGUFFile.Tensor {
        switch format {
        case .fp32: return .init(name: name, shape: shape, type: .f32, bytes: GGUFFile.f32(values))
        case .bf16: return .init(name: name, shape: shape, type: .bf16, bytes: GGUFFile.bf16(values))
        case .int8:
            let q = values.withUnsafeBufferPointer { Q8Matrix(quantizing: $0.baseAddress!, rows: shape[0], cols: shape[1]) }
            return .init(name: name, shape: shape, type: .q8_0, bytes: GGUFFile.q8_0(q))
        }
    }

    /// The GGUF name of a Tessera parameter (llama.cpp's gpt2 tensor names).
    static func ggufName(_ tessera: String) -> String {
        let parts = tessera.split(separator: ".").map(String.init)
        switch parts.first {
        case "wte": return "token_embd.weight"
        case "wpe": return "position_embd.weight"
        case "lnf": return "output_norm.\(parts[1])"
        default:
            let mapped: [String: String] = [
                "ln1": "attn_norm", "ln2": "ffn_norm", "attn.qkv": "attn_qkv", "attn.proj": "attn_output",
                "mlp.fc": "ffn_up", "mlp.out": "ffn_down",
            ]
            let layer = parts[1], kind = parts[parts.count - 1], module = parts[2..<(parts.count - 1)].joined(separator: ".")
            return "blk.\(layer).\(mapped[module]!).\(kind)"
        }
    }

    /// Refuses to replace anything but a GGUF file this export wrote (its first key is `marker`); that one stays
    /// in place until `AtomicFile` renames the new file over it.
    static func requireWritable(_ path: String) throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else { return }
        let head = FileHandle(forReadingAtPath: path).map { h in defer { try? h.close() }; return h.readData(ofLength: 64) }
        var expected = Data(GGUFFile.magic)
        expected.append(contentsOf: [3, 0, 0, 0])
        let key = Array(marker.utf8), keyStart = 24
        guard !isDirectory.boolValue, let head, head.count >= keyStart + 8 + key.count,
              head.prefix(8) == expected,
              head[keyStart] == UInt8(key.count), Array(head[(keyStart + 8)..<(keyStart + 8 + key.count)]) == key
        else {
            throw OutputError("will not export to '\(path)': it exists and is not a GGUF file Tessera wrote; "
                              + "choose a new path")
        }
    }
}
