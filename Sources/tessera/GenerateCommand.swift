import ArgumentParser
import Foundation
import Synchronization
import Tessera

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Continue prompts with a KV-cached, batched generation engine (threads or mpirun; --tp, --pp).",
        discussion: """
        A model trained through a tokenizer (or a Hugging Face directory with a tokenizer.json) reads its prompts \
        encoded by it and prints the text its tokens spell; a byte-level model reads and writes bytes. \
        A prompt longer than the model's context is refused (the error says how many tokens fit). A sequence \
        that fills the context continues by re-reading the last half of it. Greedy with --temperature 0.
        """)

    @Option(help: "A Tessera checkpoint (train --checkpoint) or a Hugging Face directory (config.json, safetensors).")
    var checkpoint: String
    @Option(help: "The tokenizer.json the model was trained with (default: the one its checkpoint records).")
    var tokenizer: String?
    @Option(help: "Text to continue (repeat for several requests; none: start from a newline).") var prompt: [String] = []
    @Option(help: "A file with one prompt per line.") var prompts: String?
    @Option(parsing: .unconditional, help: "Tokens to generate per prompt (bytes for a byte-level model).") var tokens: Int?
    @Option(parsing: .unconditional, help: .hidden) var sample: Int?
    @Option(parsing: .unconditional, help: "Sequences decoded at once; a finished one frees its slot.") var batch = 8
    @Option(parsing: .unconditional, help: "Softmax temperature (0: greedy).") var temperature: Float = 0.8
    @Option(name: .customLong("top-k"), parsing: .unconditional, help: "Sample among the k most likely tokens (0: all).") var topK = 40
    @Option(name: .customLong("top-p"), parsing: .unconditional, help: "Nucleus: the smallest set with this probability, in (0, 1].") var topP: Float = 1
    @Option(parsing: .unconditional, help: "Sampling seed (draws keyed by request and position).") var seed = 0
    @Option(help: "End a request once its output ends with this text (printed).") var stop: String?
    @Option(parsing: .unconditional, help: "Tensor-parallel ranks (heads, MLP and vocabulary split).") var tp = 1
    @Option(parsing: .unconditional, help: "Pipeline stages.") var pp = 1
    @Option(name: .customLong("micro-batches"), parsing: .unconditional, help: "Pipeline micro-batches (default: pp).") var microBatches: Int?
    @Option(name: .customLong("step-tokens"), parsing: .unconditional,
            help: "Most token rows per step; longer prompts are prefilled in chunks over several steps.")
    var stepTokens = GenerationPlan(prompts: []).stepTokens
    @Option(help: "Weights the products read: fp32, bf16 (bf16 products) or int8 (Q8_0 blocks of 32, one scale each).")
    var weights = "fp32"
    @Option(help: "Also write each request's logits per generated token to this safetensors file (threads only).")
    var logits: String?

    func validate() throws {
        try reportingErrors {
            guard seed >= 0 else { throw ConfigError("--seed must be zero or positive, got \(seed)") }
            if tokens != nil && sample != nil { throw ConfigError("give --tokens or its older spelling --sample, not both") }
            if let stop, stop.isEmpty { throw ConfigError("--stop needs a non-empty string") }
            if logits != nil && Launcher.Backend.automatic == .mpi {
                throw ConfigError("--logits runs on threads only (under mpirun the last stage's logits stay in its process)")
            }
            try plan().validateSettings()
        }
    }

    /// The run as asked on the command line (checked against the model by `GenerationPlan.validate`).
    func plan() throws -> GenerationPlan {
        var texts = prompt.map { Array($0.utf8) }
        if let prompts {
            if let kind = FileCause.kind(of: prompts), kind != "a regular file" {
                throw ConfigError("cannot read --prompts file '\(prompts)': it is \(kind), not a regular file")
            }
            guard let data = FileManager.default.contents(atPath: prompts) else {
                throw ConfigError("cannot read --prompts file '\(prompts)': it does not exist or is not readable")
            }
            var lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map(Array.init)
            if lines.last?.isEmpty == true { lines.removeLast() }
            if let empty = lines.firstIndex(where: \.isEmpty) {
                throw ConfigError("--prompts file '\(prompts)' line \(empty + 1) is empty; every line is a prompt")
            }
            texts += lines
        }
        if prompt.isEmpty && prompts == nil { texts = [[UInt8(ascii: "\n")]] }  // no prompt given: start a new line
        var plan = GenerationPlan(prompts: texts)
        plan.tokens = tokens ?? sample ?? 200
        plan.stop = Array((stop ?? "").utf8)
        plan.batch = batch
        plan.sampler = TokenSampler(temperature: temperature, topK: topK, topP: topP, seed: UInt64(seed))
        plan.tp = tp
        plan.pp = pp
        plan.microBatches = microBatches
        plan.stepTokens = stepTokens
        plan.weights = try WeightFormat.parse(weights)
        return plan
    }

    func run() throws {
        try reportingErrors {
            var plan = try plan()
            if let logits { try OutputFile.check(logits, what: "--logits file", example: "logits.safetensors", replaceable: { (try? SafeTensors.read(path: $0)) != nil }) }
            let weights = try ModelWeights.load(checkpoint)
            plan.tokenizer = try RunTokenizer.resolve(weights.config, given: tokenizer)
            try plan.validate(model: weights.config.model)
            if plan.worldSize == 1 { Compute.threads = ProcessInfo.processInfo.activeProcessorCount }
            // Under mpirun only world rank 0's events reach the printer; the other processes print nothing.
            let spell: @Sendable (Int32) -> [UInt8] = { [tok = plan.tokenizer] id in tok?.decode([id]) ?? [UInt8(truncatingIfNeeded: id)] }
            let printer = OrderedPrinter(prompts: plan.prompts, spell: spell, printing: Launcher.isLeaderProcess)
            let outputs = try Generation.run(plan, weights: weights, source: checkpoint, recordLogits: logits != nil) {
                printer.handle($0)
            }
            if let logits { try writeLogits(outputs, to: logits, vocab: weights.config.model.vocab) }
            guard let first = outputs.first, Launcher.isLeaderProcess else { return }
            let m = weights.config.model, cached = ModelShape(m).kvHeadsPerRank(tp: plan.tp)
            let unit = plan.tokenizer == nil ? "bytes" : "tokens"
            FileHandle.standardError.write(Data(String(
                format: "generated %d %@ for %d requests in %.2f s (%.1f %@/s), tp %d × pp %d, batch %d; "
                    + "KV cache on rank 0: %.2f MiB (%d bytes per token = 2·%d layers·%d %@·%d head dim·4)\n",
                first.generatedTokens, unit, plan.prompts.count, first.seconds, Double(first.generatedTokens) / first.seconds, unit,
                plan.tp, plan.pp, plan.slots, Double(first.cacheBytes) / 1_048_576, first.cacheBytesPerToken,
                first.cacheBytesPerToken / (8 * m.headDim * cached), cached, m.isLlama ? "kv heads" : "heads",
                m.headDim).utf8))
        }
    }
}

/// Writes the recorded logits as safetensors: "request.R" [generated tokens, vocab] per request.
func writeLogits(_ outputs: [GenerationOutput], to path: String, vocab: Int) throws {
    guard let recorded = outputs.first(where: { !$0.logits.allSatisfy(\.isEmpty) }) else { return }
    var file = SafeTensors.File()
    for (r, rows) in recorded.logits.enumerated() {
        file.arrays["request.\(r)"] = .f32(shape: [rows.count, vocab], values: rows.flatMap { $0 })
    }
    try AtomicFile.write(try SafeTensors.encode(file), to: path)
}

/// Streams the requests' text in request order: the first unfinished
/// request's bytes (those its tokens spell) are printed as they come, later
/// requests' bytes wait until every request before them has finished.
final class OrderedPrinter: @unchecked Sendable {
    private let lock = NSLock()
    private let prompts: [[UInt8]]
    private let spell: @Sendable (Int32) -> [UInt8]
    private var pending: [[UInt8]], finished: [Bool]
    private var current = 0, text = TerminalText.Stream()

    /// Prints the first prompt at once when `printing` (the process that streams the job's output).
    init(prompts: [[UInt8]], spell: @escaping @Sendable (Int32) -> [UInt8], printing: Bool) {
        self.prompts = prompts
        self.spell = spell
        pending = Array(repeating: [], count: prompts.count)
        finished = Array(repeating: false, count: prompts.count)
        if printing { write(TerminalText.printable(prompts[0])) }
    }

    func handle(_ event: GenerationEvent) {
        lock.withLock {
            switch event {
            case .token(let r, let token):
                for byte in spell(token) {
                    if r == current { write(text.push(byte)) } else { pending[r].append(byte) }
                }
            case .logprobs: break  // generate asks for none
            case .finished(let r):
                finished[r] = true
                while current < prompts.count && finished[current] {
                    write(text.finish() + "\n")
                    current += 1
                    guard current < prompts.count else { break }
                    write(TerminalText.printable(prompts[current]))
                    for b in pending[current] { write(text.push(b)) }
                }
            }
        }
    }

    private func write(_ s: String) { FileHandle.standardOutput.write(Data(s.utf8)) }
}
