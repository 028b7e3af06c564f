import Foundation
import TesseraTokenizer
import TesseraSupport
import TesseraKernels
import TesseraModel

/// Where generation and export read a model from.
public enum ModelWeights {
    /// The weights at `path`: a Tessera checkpoint (its marker present), or
    /// a GPT-2 directory as `tessera export --hf` writes it (config.json and
    /// model.safetensors). Each is checked whole before it is used; anything
    /// else is a one-line `CheckpointError` saying what was expected.
    public static func load(_ path: String) throws -> Checkpoint {
        let fm = FileManager.default
        let marker = path + "/" + CheckpointDirectory.markerName
        if !fm.fileExists(atPath: marker) && fm.fileExists(atPath: path + "/config.json") {
            var weights = try GPT2Import.read(path)
            // A Hugging Face directory with a tokenizer.json: the model reads and writes its ids.
            let tokPath = path + "/tokenizer.json"
            if fm.fileExists(atPath: tokPath) {
                let tok: Tokenizer
                do { tok = try Tokenizer.load(path: tokPath) } catch let e as TokenizerError { throw CheckpointError(e.message) }
                weights.config.tokenizer = tokPath
                weights.config.tokenizerSha256 = tok.sha256
            }
            return weights
        }
        do {
            // Also completes a save a crash interrupted (the checkpoint may sit in a temporary beside `path`).
            return try Checkpoint.load(from: path, withOptimizer: false)
        } catch {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDirectory), !fm.fileExists(atPath: marker) else { throw error }
            throw CheckpointError("'\(path)' " + (isDirectory.boolValue
                ? "holds neither \(CheckpointDirectory.markerName) (a Tessera checkpoint) nor config.json (a GPT-2 export)"
                : "is a file, not a checkpoint directory") + "; give a directory from tessera train --checkpoint or tessera export --hf")
        }
    }
}
