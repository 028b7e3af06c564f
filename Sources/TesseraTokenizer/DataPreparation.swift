import Foundation
import TesseraSupport

/// `tessera data prepare`: tokenizes text files into checksummed token
/// shards plus `index.json`, in parallel, with a held-out validation split
/// by documents.
///
/// Documents are whole files (`.file`) or the paragraphs of each file, cut
/// at blank lines (`.paragraph`). Document k (counting from 0 over all
/// files in order) is held out for validation when SplitMix64(seed + k),
/// read as a fraction of 2^64, is below `validationFraction`; if that picks
/// none, the last document is held out. Each document's ids are followed by
/// the end-of-text id (when the tokenizer has that token). A split's ids
/// are cut into shards of `shardTokens` ids (the last one shorter).
///
/// Every file goes to a temporary name and is renamed into place; a
/// `PREPARING` marker is written first and removed after `index.json`, so a
/// killed run leaves a directory that readers refuse and that `prepare`
/// refuses to reuse. An existing directory is used only when empty.
public struct DataPreparation: Sendable {
    public enum DocumentMode: String, Sendable, CaseIterable { case file, paragraph }

    public var tokenizerPath: String
    public var data: [String]
    public var out: String
    public var shardTokens = 1 << 24
    public var validationFraction = 0.01
    public var documents = DocumentMode.file
    /// The end-of-text token put after each document (nil: none).
    public var endOfText: String? = "<|endoftext|>"
    public var seed: UInt64 = 1337
    public var threads = 1

    public init(tokenizerPath: String, data: [String], out: String) {
        self.tokenizerPath = tokenizerPath
        self.data = data
        self.out = out
    }

    /// Prepares the directory; `progress` receives bytes done of the total.
    public func run(progress: ((Int, Int) -> Void)? = nil) throws -> ShardIndex {
        guard shardTokens >= 1024 else { throw TokenizerError("--shard-tokens \(shardTokens) is too small (at least 1024)") }
        guard shardTokens < Int(Int32.max) else { throw TokenizerError("--shard-tokens \(shardTokens) is too large (below 2^31)") }
        guard validationFraction >= 0 && validationFraction <= 0.5 else {
            throw TokenizerError("--validation \(validationFraction) must be between 0 and 0.5")
        }
        guard threads >= 1 else { throw TokenizerError("--threads must be at least 1, got \(threads)") }
        let tok = try Tokenizer.load(path: tokenizerPath)
        var eotId: Int32? = nil
        if let e = endOfText {
            guard let id = tok.addedTokenId(e) ?? tok.model.vocab[e] else {
                throw TokenizerError("end-of-text token \(e.debugDescription) is not in \(tokenizerPath); name one with --eot or pass --no-eot")
            }
            eotId = Int32(id)
        }
        let files = try DataSources.expand(data)
        let totalBytes = files.reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int) ?? 0) }
        try claimOutput()
        progress?(0, totalBytes)

        let fm = FileManager.default
        let tokJSON = tok.jsonData()
        let tokOut = (out as NSString).appendingPathComponent("tokenizer.json")
        try AtomicFile.write(tokJSON, to: tokOut)
        let width = TokenWidth.fitting(tok.vocabSize)
        let train = ShardWriter(dir: out, split: "train", width: width, shardTokens: shardTokens)
        let validation = ShardWriter(dir: out, split: "validation", width: width, shardTokens: shardTokens)
        let caches = CacheSet(threads)
        var docIndex = 0
        var trainDocs = 0, valDocs = 0
        var pending: [Int32]? = nil     // the latest training document, held back in case no document is held out
        var done = 0
        var batch: [(Data, Range<Int>)] = []
        var batchBytes = 0

        func flush() throws {
            if batch.isEmpty { return }
            let ids = encodeBatch(tok, batch, caches)
            for var d in ids {
                if let eotId { d.append(eotId) }
                if isValidation(docIndex) {
                    try validation.append(d); valDocs += 1
                } else {
                    if let p = pending { try train.append(p) }
                    pending = d; trainDocs += 1
                }
                docIndex += 1
            }
            done += batchBytes
            progress?(done, totalBytes)
            batch.removeAll(keepingCapacity: true)
            batchBytes = 0
        }

        for f in files {
            guard let text = try? Data(contentsOf: URL(fileURLWithPath: f), options: .alwaysMapped) else {
                throw TokenizerError("data file \(f) cannot be read")
            }
            for r in documentRanges(text) {
                batch.append((text, r))
                batchBytes += r.count
                if batchBytes >= 8 << 20 || batch.count >= 4096 { try flush() }
            }
        }
        try flush()
        progress?(totalBytes, totalBytes)
        if let p = pending {
            if valDocs == 0 && validationFraction > 0 && trainDocs >= 2 {
                try validation.append(p); valDocs += 1; trainDocs -= 1
            } else {
                try train.append(p)
            }
        }
        try train.finish(); try validation.finish()
        guard train.total > 0 else { throw TokenizerError("the --data files hold no documents to tokenize (empty dataset)") }
        if validationFraction > 0 && valDocs == 0 {
            throw TokenizerError("only \(trainDocs) document(s): a validation split needs at least 2 (use --documents paragraph, more files, or --validation 0)")
        }
        let index = ShardIndex(
            tokenizer: .init(file: tokenizerPath, sha256: SHA256.hex(tokJSON), vocabSize: tok.vocabSize),
            dtype: width,
            endOfText: eotId.map { .init(token: endOfText!, id: Int($0), placement: "after every document") },
            documents: .init(mode: documents.rawValue, train: trainDocs, validation: valDocs),
            validationFraction: validationFraction, seed: seed, sourceFiles: files.count, sourceBytes: totalBytes,
            shards: train.entries + validation.entries)
        let indexPath = (out as NSString).appendingPathComponent(ShardIndex.fileName)
        try AtomicFile.write(try index.encoded(), to: indexPath)
        try? fm.removeItem(atPath: (out as NSString).appendingPathComponent(ShardIndex.markerName))
        return index
    }

    /// Whether document k is held out (SplitMix64 of seed + k below the fraction).
    public func isValidation(_ k: Int) -> Bool {
        var z = seed &+ UInt64(k) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) / Double(1 << 53) < validationFraction
    }

    /// The documents of one file's bytes.
    func documentRanges(_ text: Data) -> [Range<Int>] {
        if text.isEmpty { return [] }
        guard documents == .paragraph else { return [0..<text.count] }
        return text.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> [Range<Int>] in
            let b = raw.bindMemory(to: UInt8.self)
            var out: [Range<Int>] = []
            var start = 0, i = 0
            while i < b.count {
                if b[i] == 0x0A && i + 1 < b.count && b[i + 1] == 0x0A {
                    out.append(start..<(i + 1))       // the paragraph with its last newline
                    var j = i + 1
                    while j < b.count && b[j] == 0x0A { j += 1 }
                    start = j; i = j
                } else {
                    i += 1
                }
            }
            if start < b.count { out.append(start..<b.count) }
            return out
        }
    }

    /// The ids of each document of the batch, encoded on `threads` threads.
    func encodeBatch(_ tok: Tokenizer, _ docs: [(Data, Range<Int>)], _ caches: CacheSet) -> [[Int32]] {
        let parts = IdParts(docs.count)
        let workers = min(threads, docs.count)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            var cache = caches.take(w)
            var k = w
            while k < docs.count {
                let (d, r) = docs[k]
                parts.store(k, tok.encode(bytes: [UInt8](d[r]), addSpecialTokens: false, cache: &cache))
                k += workers
            }
            caches.put(w, cache)
        }
        return parts.all()
    }

    /// Creates `out` (or takes an empty directory) and writes the marker; refuses anything else.
    func claimOutput() throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: out, isDirectory: &isDir) {
            guard isDir.boolValue else { throw TokenizerError("--out \(out) is a file; give a new or empty directory") }
            let entries = (try? fm.contentsOfDirectory(atPath: out)) ?? []
            if entries.contains(ShardIndex.fileName) {
                throw TokenizerError("--out \(out) already holds prepared data (\(ShardIndex.fileName)); remove it or choose another directory")
            }
            if entries.contains(ShardIndex.markerName) {
                throw TokenizerError("--out \(out) holds an unfinished preparation (a killed run: \(ShardIndex.markerName), no \(ShardIndex.fileName)); remove it and prepare again")
            }
            guard entries.isEmpty else { throw TokenizerError("--out \(out) is not empty and was not made by tessera data prepare; give a new or empty directory") }
        } else {
            do { try fm.createDirectory(atPath: out, withIntermediateDirectories: false) }
            catch { throw TokenizerError("cannot create --out \(out) (does its parent directory exist?)") }
        }
        let marker = (out as NSString).appendingPathComponent(ShardIndex.markerName)
        guard fm.createFile(atPath: marker, contents: Data("tessera data prepare pid \(getpid())\n".utf8)) else {
            throw TokenizerError("cannot write in --out \(out)")
        }
    }
}

/// Accumulates one split's ids and writes full shards as they fill.
final class ShardWriter {
    let dir: String, split: String, width: TokenWidth, shardTokens: Int
    var buffer: [Int32] = []
    var entries: [ShardIndex.Shard] = []
    var total = 0

    init(dir: String, split: String, width: TokenWidth, shardTokens: Int) {
        self.dir = dir; self.split = split; self.width = width; self.shardTokens = shardTokens
    }

    func append(_ ids: [Int32]) throws {
        buffer.append(contentsOf: ids)
        total += ids.count
        while buffer.count >= shardTokens {
            try write(buffer[..<shardTokens])
            buffer.removeFirst(shardTokens)
        }
    }

    func finish() throws {
        if !buffer.isEmpty { try write(buffer[...]); buffer.removeAll() }
    }

    private func write(_ ids: ArraySlice<Int32>) throws {
        let name = String(format: "%@-%05d.bin", split, entries.count)
        let sha = try TokenShard.write(ids, width: width, to: (dir as NSString).appendingPathComponent(name))
        entries.append(.init(file: name, split: split, tokens: ids.count, sha256: sha))
    }
}

/// One word cache per worker, kept across batches.
final class CacheSet: @unchecked Sendable {
    private var caches: [WordCache]
    private let lock = NSLock()
    init(_ n: Int) { caches = Array(repeating: WordCache(), count: max(1, n)) }
    func take(_ i: Int) -> WordCache { lock.lock(); defer { lock.unlock() }; let c = caches[i]; caches[i] = WordCache(); return c }
    func put(_ i: Int, _ c: WordCache) { lock.lock(); caches[i] = c; lock.unlock() }
}
