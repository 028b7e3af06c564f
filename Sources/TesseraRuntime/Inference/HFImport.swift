import Foundation
import TesseraTokenizer
import TesseraSupport

/// Reads a Hugging Face model directory of a family Tessera runs into a
/// weights-only `Checkpoint`: the family is the one architecture
/// config.json names (each family's reader checks its config keys and
/// tensors), and a `tokenizer.json` beside it becomes the model's
/// tokenizer (recorded by path and SHA-256, as a trained run records its own).
public enum HFImport {
    /// The architectures Tessera reads (config.json's `architectures`).
    static let architectures = [GPT2Import.architecture, LlamaImport.architecture]

    /// The weights of `dir` by its family's reader.
    static func weights(_ dir: inout HFDirectory) throws -> Checkpoint {
        switch dir.architecture {
        case GPT2Import.architecture: return try GPT2Import.read(directory: &dir)
        case LlamaImport.architecture: return try LlamaImport.read(directory: &dir)
        default: throw dir.bad("architecture \(dir.architecture) has no reader")  // HFDirectory admits only `architectures`
        }
    }

    /// The checkpoint in the Hugging Face directory `path`.
    public static func read(_ path: String) throws -> Checkpoint {
        var dir = try HFDirectory(path, supported: architectures)
        var weights = try Self.weights(&dir)
        if let tokPath = dir.tokenizerPath {
            let tok: Tokenizer
            do { tok = try Tokenizer.load(path: tokPath) } catch let e as TokenizerError { throw CheckpointError(e.message) }
            guard tok.vocabSize <= weights.config.model.vocab else {
                throw CheckpointError("\(tokPath) has \(tok.vocabSize) ids but \(dir.configPath) has vocab_size "
                                      + "\(weights.config.model.vocab); the tokenizer must fit the model")
            }
            weights.config.tokenizer = tokPath
            weights.config.tokenizerSha256 = tok.sha256
        }
        return weights
    }
}
