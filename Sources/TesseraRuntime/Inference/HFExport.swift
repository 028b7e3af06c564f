import Foundation
import TesseraTokenizer
import TesseraSupport

/// Writes a model as a Hugging Face directory that
/// `AutoModelForCausalLM.from_pretrained(DIR)` loads and `HFImport` reads
/// back: `config.json` and `model.safetensors` in the model's family form
/// (`GPT2Export`, `LlamaExport`), and, when the model reads and writes ids through a
/// tokenizer, `tokenizer.json` with the `tokenizer_config.json` that lets
/// `AutoTokenizer.from_pretrained(DIR)` load it as a fast tokenizer.
///
/// The directory is written whole or not at all: every file goes into a
/// staging directory beside `path`, which is renamed into place last. A
/// `path` that exists must be an empty directory or an earlier Tessera
/// export (config.json carries `tessera_export`, and it holds only the files
/// an export writes); anything else is refused and left as it was.
public enum HFExport {
    /// The config key marking a directory as Tessera's own export (the only kind it replaces).
    static let marker = "tessera_export"
    /// Every file an export may write.
    static let files: Set<String> = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]

    /// Writes `weights` (and `tokenizer`, when the model uses one) to `path`.
    public static func write(_ weights: Checkpoint, to path: String, tokenizer: Tokenizer? = nil) throws {
        let m = weights.config.model
        if m.hasExperts {
            throw ConfigError("a model with experts (\(m.experts) per MoE block) has no Hugging Face form Tessera writes; "
                              + "export --hf takes dense models (experts 0)")
        }
        if let tokenizer, tokenizer.vocabSize > m.vocab {
            throw ConfigError("the tokenizer has \(tokenizer.vocabSize) ids but the model's vocabulary is \(m.vocab)")
        }
        let replacing = try requireReplaceable(path)
        let within = (path as NSString).deletingLastPathComponent
        if let problem = FileCause.directoryProblem(within.isEmpty ? "." : within) {
            throw OutputError("cannot export to '\(path)': \(problem)")
        }
        let (familyConfig, tensors) = m.isLlama ? LlamaExport.files(weights) : GPT2Export.files(weights)
        var config = familyConfig
        config[marker] = true
        config["torch_dtype"] = "float32"
        // Tessera ends a sequence at a length or a stop string, never at an id: so does the export's generate().
        config["bos_token_id"] = NSNull()
        config["eos_token_id"] = NSNull()
        var contents: [(String, Data)] = [
            ("model.safetensors", try SafeTensors.encode(tensors)),
            ("config.json", try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])),
        ]
        if let tokenizer {
            contents.append(("tokenizer.json", tokenizer.jsonData()))
            contents.append(("tokenizer_config.json", try tokenizerConfig(tokenizer, contextLength: m.seqLen)))
        }
        let fm = FileManager.default
        let parent = (path as NSString).deletingLastPathComponent
        let base = (path as NSString).lastPathComponent
        let staging = (parent.isEmpty ? "" : parent + "/") + ".\(base).tessera-export-\(getpid())"
        try? fm.removeItem(atPath: staging)  // one this process left, by its own unique name
        guard mkdir(staging, 0o755) == 0 else {
            throw OutputError("cannot export to '\(path)': " + FileCause.words(errno, parent.isEmpty ? "." : parent))
        }
        do {
            for (name, data) in contents { try DurableFile.write(data, to: staging + "/" + name) }
            DurableFile.syncDirectory(staging)
            if let old = replacing {
                // Swap the old export out, the new one in, then remove the old export's own files and its directory.
                let retired = staging + ".old"
                guard rename(path, retired) == 0 else { throw OutputError.system("cannot move the earlier export \(path) aside") }
                guard rename(staging, path) == 0 else {
                    _ = rename(retired, path)
                    throw OutputError.system("cannot rename \(staging) to \(path)")
                }
                for name in old { try? fm.removeItem(atPath: retired + "/" + name) }
                _ = rmdir(retired)
            } else {
                if fm.fileExists(atPath: path) { _ = rmdir(path) }  // an empty directory (checked above)
                guard rename(staging, path) == 0 else { throw OutputError.system("cannot rename \(staging) to \(path)") }
            }
            DurableFile.syncDirectory(parent.isEmpty ? "." : parent)
        } catch {
            for (name, _) in contents { try? fm.removeItem(atPath: staging + "/" + name) }
            _ = rmdir(staging)
            throw error
        }
    }

    /// tokenizer_config.json for a fast tokenizer built from tokenizer.json
    /// alone: its class, the context length, and its special tokens.
    static func tokenizerConfig(_ tokenizer: Tokenizer, contextLength: Int) throws -> Data {
        var config: [String: Any] = ["tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": contextLength,
                                     "clean_up_tokenization_spaces": false]
        let special = tokenizer.addedTokens.filter(\.special).map(\.content)
        if let eos = special.first(where: { $0.contains("end") || $0.contains("eos") }) ?? special.first {
            config["eos_token"] = eos
        }
        if let bos = special.first(where: { $0.contains("begin") || $0.contains("bos") }) { config["bos_token"] = bos }
        return try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
    }

    /// Nil when `path` is free (absent or an empty directory); the files of
    /// an earlier Tessera export there; otherwise an `OutputError` naming what is in the way.
    static func requireReplaceable(_ path: String) throws -> [String]? {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else { return nil }
        func refuse(_ what: String) -> OutputError {
            OutputError("will not export to '\(path)': it is \(what); Tessera replaces only an empty directory or "
                        + "its own export. Choose a new path")
        }
        guard isDirectory.boolValue else { throw refuse("a file") }
        let entries = (try? fm.contentsOfDirectory(atPath: path)) ?? []
        if entries.isEmpty { return nil }
        guard Set(entries).isSubset(of: files),
              let data = fm.contents(atPath: path + "/config.json"),
              let config = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              config[marker] as? Bool == true
        else { throw refuse("a directory holding other files (\(entries.sorted().prefix(3).joined(separator: ", ")))") }
        return entries
    }
}
