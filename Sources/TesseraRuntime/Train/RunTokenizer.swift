import Foundation
import TesseraTokenizer
import TesseraSupport
import TesseraKernels
import TesseraTopology

/// The tokenizer a trained model reads and writes ids with, found from its
/// config: `--tokenizer FILE` when given, else the config's `tokenizer`
/// file, else the `tokenizer.json` of a prepared `data` directory. It must
/// have the SHA-256 the checkpoint recorded (`tokenizer-sha256`); a model
/// trained on bytes has none.
public enum RunTokenizer {
    /// The tokenizer of `config` (nil for a byte model), checked against its recorded hash.
    public static func resolve(_ config: TrainConfig, given: String? = nil) throws -> Tokenizer? {
        guard let expected = config.tokenizerSha256 else {
            if let given { throw ConfigError("--tokenizer \(given) was given but the model was trained on bytes (no tokenizer recorded)") }
            return nil
        }
        var candidates: [String] = []
        if let given { candidates = [given] } else {
            if let t = config.tokenizer { candidates.append(t) }
            if let d = config.data { candidates.append((d as NSString).appendingPathComponent("tokenizer.json")) }
        }
        for path in candidates where FileManager.default.fileExists(atPath: path) {
            let tok: Tokenizer
            do { tok = try Tokenizer.load(path: path) } catch let e as TokenizerError { throw DataError(e.message) }
            guard tok.sha256 == expected else {
                throw DataError("tokenizer \(path) has sha256 \(tok.sha256) but the model was trained with tokenizer sha256 \(expected)")
            }
            return tok
        }
        throw ConfigError("the model was trained with tokenizer sha256 \(expected), which is not at "
                          + (candidates.isEmpty ? "any recorded path" : candidates.joined(separator: " or "))
                          + "; give it with --tokenizer FILE")
    }
}
