import ArgumentParser
import Foundation
import Tessera
import TesseraTokenizer

/// `tessera tokenizer train|encode|decode`: byte-level BPE tokenizers in
/// Hugging Face's tokenizer.json format.
struct TokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer",
        abstract: "Train, and encode or decode with, a byte-level BPE tokenizer (Hugging Face tokenizer.json).",
        subcommands: [TokenizerTrainCommand.self, TokenizerEncodeCommand.self, TokenizerDecodeCommand.self])
}

struct TokenizerTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Learn a byte-level BPE vocabulary from text files and write tokenizer.json.",
        discussion: """
            Ids 0... are the special tokens, then the 256 bytes, then one token per merge. The output loads in \
            Hugging Face's tokenizers (Tokenizer.from_file) and encodes identically there.
            """)

    @Option(help: "Vocabulary size: special tokens + 256 bytes + merges.") var vocab: Int
    @Option(parsing: .upToNextOption, help: "Text files to learn from.") var data: [String]
    @Option(help: "The tokenizer.json to write (must not exist).") var out: String
    @Option(help: "Split pattern: gpt2 or llama3.") var pattern = "gpt2"
    @Option(help: "Special tokens, comma-separated (ids 0...).") var special = "<|endoftext|>"
    @Option(help: "Stop when the most frequent pair occurs fewer times.") var minFrequency = 2
    @Option(help: "Threads counting pieces.") var threads = ProcessInfo.processInfo.activeProcessorCount

    func run() throws {
        try reportingErrors {
            guard let p = SplitPattern(rawValue: pattern) else {
                throw ConfigError("unknown --pattern '\(pattern)'; valid: \(SplitPattern.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard threads >= 1 else { throw ConfigError("--threads must be at least 1, got \(threads)") }
            let trainer = BPETrainer(vocabSize: vocab, specialTokens: special.split(separator: ",").map(String.init),
                                     pattern: p, minFrequency: minFrequency, threads: threads)
            try trainer.validate()
            try OutputFile.check(out, what: "tokenizer file", example: "tokenizer.json") { _ in false }
            try TokenizerFiles.checkNewOutput(out)
            let texts = try TokenizerFiles.readCorpus(data)
            let start = Date()
            let counts = trainer.countPieces(texts)
            let counted = Date()
            let tok = try trainer.merge(counts: counts)
            let done = Date()
            try tok.write(to: out)
            let bytes = texts.reduce(0) { $0 + $1.count }
            FileHandle.standardError.write(Data(String(
                format: "tessera: %d tokens (%d merges) from %d bytes, %d distinct pieces: counting %.2f s, merging %.2f s; wrote %@\n",
                tok.vocabSize, tok.model.merges.count, bytes, counts.count,
                counted.timeIntervalSince(start), done.timeIntervalSince(counted), out).utf8))
        }
    }
}

struct TokenizerEncodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Print the token ids of FILE (or standard input), separated by spaces.")

    @Option(help: "The tokenizer.json.") var tokenizer: String
    @Argument(help: "The file to encode (standard input when absent).") var file: String?
    @Option(help: "Threads encoding.") var threads = 1
    @Flag(help: "Leave out the post-processor's template tokens (a BOS).") var noSpecial = false
    @Flag(help: "Print a summary line (tokens, bytes, seconds, MB/s) instead of the ids.") var summary = false

    func run() throws {
        try reportingErrors {
            guard threads >= 1 else { throw ConfigError("--threads must be at least 1, got \(threads)") }
            let tok = try Tokenizer.load(path: tokenizer)
            let bytes: [UInt8]
            if let file { bytes = try TokenizerFiles.readCorpus([file])[0] }
            else { bytes = [UInt8](FileHandle.standardInput.readDataToEndOfFile()) }
            let start = Date()
            let ids = tok.encodeParallel(bytes: bytes, threads: threads, addSpecialTokens: !noSpecial)
            let seconds = Date().timeIntervalSince(start)
            if summary {
                say(String(format: "%d tokens from %d bytes in %.3f s: %.2f MB/s at %d thread(s)",
                           ids.count, bytes.count, seconds, Double(bytes.count) / seconds / 1e6, threads))
            } else {
                FileHandle.standardOutput.write(Data((ids.map(String.init).joined(separator: " ") + "\n").utf8))
            }
        }
    }
}

struct TokenizerDecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Read token ids (decimal, whitespace-separated) from FILE or standard input and write the bytes they spell.")

    @Option(help: "The tokenizer.json.") var tokenizer: String
    @Argument(help: "A file of ids (standard input when absent).") var file: String?
    @Flag(help: "Leave out special tokens.") var skipSpecial = false

    func run() throws {
        try reportingErrors {
            let tok = try Tokenizer.load(path: tokenizer)
            let data: Data
            if let file { data = Data(try TokenizerFiles.readCorpus([file])[0]) }
            else { data = FileHandle.standardInput.readDataToEndOfFile() }
            let ids = try TokenizerFiles.parseIds(String(decoding: data, as: UTF8.self), vocabSize: tok.vocabSize)
            FileHandle.standardOutput.write(Data(tok.decode(ids, skipSpecial: skipSpecial)))
        }
    }
}
