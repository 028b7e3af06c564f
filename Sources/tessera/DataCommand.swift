import ArgumentParser
import Foundation
import Tessera
import TesseraTokenizer

/// `tessera data prepare`: text files to checksummed token shards.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Prepare token shards for `tessera train --data DIR`.",
        subcommands: [DataPrepareCommand.self])
}

struct DataPrepareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Tokenize text files in parallel into checksummed uint16/uint32 shards with an index and a validation split.",
        discussion: """
            DIR gets train-NNNNN.bin and validation-NNNNN.bin (a 1024-byte header as llm.c's .bin files, then the ids), \
            tokenizer.json (the tokenizer, canonical form) and index.json (written last: tokenizer hash, vocabulary, \
            documents, tokens and SHA-256 per shard, end-of-text handling). A directory left by a killed run is refused.
            """)

    @Option(help: "The tokenizer.json to encode with.") var tokenizer: String
    @Option(parsing: .upToNextOption, help: "Text files, directories or glob patterns.") var data: [String]
    @Option(help: "The output directory (new or empty).") var out: String
    @Option(help: "Documents: file (one per file) or paragraph (cut at blank lines).") var documents = "file"
    @Option(help: "Fraction of documents held out for validation.") var validation = 0.01
    @Option(help: "Ids per shard.") var shardTokens = 1 << 24
    @Option(help: "End-of-text token put after each document.") var eot = "<|endoftext|>"
    @Flag(help: "Put no end-of-text token after documents.") var noEot = false
    @Option(help: "Seed of the validation draw.") var seed: UInt64 = 1337
    @Option(help: "Threads tokenizing.") var threads = ProcessInfo.processInfo.activeProcessorCount

    func run() throws {
        try reportingErrors {
            guard let mode = DataPreparation.DocumentMode(rawValue: documents) else {
                throw ConfigError("unknown --documents '\(documents)'; valid: \(DataPreparation.DocumentMode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            var prep = DataPreparation(tokenizerPath: tokenizer, data: data, out: out)
            prep.documents = mode
            prep.validationFraction = validation
            prep.shardTokens = shardTokens
            prep.endOfText = noEot ? nil : eot
            prep.seed = seed
            prep.threads = threads
            var line: ByteRateProgress? = nil
            let index = try prep.run { done, total in
                if line == nil { line = ByteRateProgress(label: "tessera: tokenizing", totalBytes: total) }
                line?.update(done)
            }
            line?.finish()
            say("prepared \(out): \(index.tokens("train")) train and \(index.tokens("validation")) validation tokens (\(index.dtype.rawValue)) "
                + "from \(index.documents.train) + \(index.documents.validation) documents in \(index.shards.count) shard(s); tokenizer sha256 \(index.tokenizer.sha256)")
        }
    }
}
