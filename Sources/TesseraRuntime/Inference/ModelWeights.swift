import Foundation
import TesseraTokenizer
import TesseraSupport
import TesseraKernels
import TesseraModel

/// Where generation and export read a model from.
public enum ModelWeights {
    /// The weights at `path`: a Tessera checkpoint (its marker present), or
    /// a Hugging Face directory (config.json and safetensors weights, as
    /// `save_pretrained` or `tessera export --hf` write it; see `HFImport`). Each is checked whole before it is used; anything
    /// else is a one-line `CheckpointError` saying what was expected.
    public static func load(_ path: String) throws -> Checkpoint {
        let fm = FileManager.default
        let marker = path + "/" + CheckpointDirectory.markerName
        if !fm.fileExists(atPath: marker) && fm.fileExists(atPath: path + "/config.json") {
            return try HFImport.read(path)
        }
        do {
            // Also completes a save a crash interrupted (the checkpoint may sit in a temporary beside `path`).
            return try Checkpoint.load(from: path, withOptimizer: false)
        } catch {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDirectory), !fm.fileExists(atPath: marker) else { throw error }
            throw CheckpointError("'\(path)' " + (isDirectory.boolValue
                ? "holds neither \(CheckpointDirectory.markerName) (a Tessera checkpoint) nor config.json (a Hugging Face model)"
                : "is a file, not a checkpoint directory") + "; give a directory from tessera train --checkpoint or tessera export --hf")
        }
    }
}
