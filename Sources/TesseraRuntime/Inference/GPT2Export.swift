import Foundation
import TesseraTokenizer
import TesseraSupport
import TesseraModel

/// Writes a model as a Hugging Face GPT-2 directory: `config.json`,
/// `tokenizer.json` when the model was trained through a tokenizer, and
/// `model.safetensors` (float32, GPT-2's names and Conv1D orientation,
/// the head tied to wte and so not stored), which
/// `transformers.GPT2LMHeadModel.from_pretrained(DIR)` loads and
/// `GPT2Import` reads back.
public enum GPT2Export {
    /// The config key marking a directory as Tessera's own export (the only kind it overwrites).
    static let marker = "tessera_export"

    /// Writes `weights` to `path`: a new or empty directory, or one holding
    /// only a previous Tessera export (whose two files are replaced);
    /// anything else is refused and kept.
    public static func write(_ weights: Checkpoint, to path: String, tokenizer: Tokenizer? = nil) throws {
        let m = weights.config.model
        if m.hasExperts {
            throw ConfigError("a model with experts (\(m.experts) per MoE block) has no GPT-2 form to export to; "
                              + "export --hf takes dense models (experts 0)")
        }
        try requireWritable(path)
        var file = SafeTensors.File(metadata: ["format": "pt"])
        for (name, shape) in GPT.parameterLayout(m) {
            let values = weights.parameters[name]!.values
            let (hfName, transposed) = GPT2Layout.name(name)
            file.arrays[hfName] = transposed
                ? .f32(shape: [shape[1], shape[0]], values: GPT2Layout.transpose(values, rows: shape[0], cols: shape[1]))
                : .f32(shape: shape, values: values)
        }
        let config: [String: Any] = [
            "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
            "vocab_size": m.vocab, "n_positions": m.seqLen, "n_ctx": m.seqLen, "n_embd": m.dModel,
            "n_layer": m.layers, "n_head": m.heads, "n_inner": NSNull(),
            "activation_function": GPT2Layout.activation, "layer_norm_epsilon": GPT2Layout.layerNormEpsilon,
            "resid_pdrop": Double(m.dropout), "embd_pdrop": Double(m.dropout), "attn_pdrop": Double(m.dropout),
            "initializer_range": 0.02, "scale_attn_weights": true, "scale_attn_by_inverse_layer_idx": false,
            "reorder_and_upcast_attn": false, "tie_word_embeddings": true, "use_cache": true,
            "bos_token_id": NSNull(), "eos_token_id": NSNull(), "torch_dtype": "float32", marker: true,
        ]
        let json = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw OutputError("cannot export to '\(path)': " + (FileCause.directoryProblem(FilePathParts(path).directory)
                                                               ?? "cannot create the directory"))
        }
        if let problem = FileCause.directoryProblem(path) { throw OutputError("cannot export to '\(path)': \(problem)") }
        // Each file is replaced whole (AtomicFile); config.json, which marks the export, goes last, and an
        // earlier export's tokenizer.json is removed only once the new export is complete.
        try AtomicFile.write(try SafeTensors.encode(file), to: path + "/model.safetensors")
        if let tokenizer { try AtomicFile.write(tokenizer.jsonData(), to: path + "/tokenizer.json") }
        try AtomicFile.write(json, to: path + "/config.json")
        if tokenizer == nil { unlink(path + "/tokenizer.json") }
    }

    static func requireWritable(_ path: String) throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else { return }
        func refuse(_ what: String) -> OutputError {
            OutputError("will not export to '\(path)': it is \(what); Tessera replaces only an empty directory or "
                        + "its own export. Choose a new path")
        }
        guard isDirectory.boolValue else { throw refuse("a file") }
        let entries = (try? fm.contentsOfDirectory(atPath: path)) ?? []
        if entries.isEmpty { return }
        guard Set(entries).isSubset(of: ["config.json", "model.safetensors", "tokenizer.json"]),
              let data = fm.contents(atPath: path + "/config.json"),
              let config = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              config[marker] as? Bool == true
        else { throw refuse("a directory holding other files (\(entries.sorted().prefix(3).joined(separator: ", ")))") }
    }
}
