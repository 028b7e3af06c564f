import ArgumentParser
import Foundation
import Tessera
import TesseraServe

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "An OpenAI-compatible HTTP server (completions, chat, streaming, metrics) over the generation engine.",
        discussion: """
        Continuous batching over a paged KV cache: requests join the running batch at step boundaries, long \
        prompts are prefilled in chunks beside the decoding sequences, and each sequence takes fixed-size cache \
        blocks from a pool as it grows; full blocks of identical prompt prefixes are shared (prefix caching). \
        When the pool runs out, the youngest sequence is preempted and \
        recomputed later. SIGTERM drains and exits 0. Under mpirun, rank 0 serves HTTP.
        """)

    @Option(help: "A Tessera checkpoint (train --checkpoint) or a GPT-2 export (export --hf).") var checkpoint: String
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(parsing: .unconditional, help: "Port to listen on (0: any free port, printed).") var port = 8000
    @Option(name: .customLong("model-name"), help: "The model's id in the API (default: the checkpoint directory's name).")
    var modelName: String?
    @Option(parsing: .unconditional, help: "Tensor-parallel ranks.") var tp = 1
    @Option(parsing: .unconditional, help: "Pipeline stages.") var pp = 1
    @Option(name: .customLong("micro-batches"), parsing: .unconditional, help: "Pipeline micro-batch groups (default: pp).")
    var microBatches: Int?
    @Option(name: .customLong("max-seqs"), parsing: .unconditional, help: "Sequences in the running batch at most.")
    var maxSeqs = ServingSettings().slots
    @Option(name: .customLong("block-size"), parsing: .unconditional, help: "Positions per KV cache block.")
    var blockSize = ServingSettings().blockSize
    @Option(name: .customLong("kv-blocks"), parsing: .unconditional,
            help: "KV cache blocks in the pool (default: --max-seqs sequences of the full context).")
    var kvBlocks: Int?
    @Option(name: .customLong("step-tokens"), parsing: .unconditional, help: "Most token rows per step (chunked prefill).")
    var stepTokens = ServingSettings().stepTokens
    @Option(name: .customLong("max-body"), parsing: .unconditional, help: "Largest request body in bytes.")
    var maxBody = ServeOptions().maxBodyBytes
    @Option(name: .customLong("max-n"), parsing: .unconditional, help: "Most choices (n) per request.")
    var maxN = ServeOptions().maxChoices
    @Option(name: .customLong("request-timeout"), parsing: .unconditional, help: "Seconds a request may run.")
    var requestTimeout = ServeOptions().requestTimeout
    @Option(name: .customLong("drain-timeout"), parsing: .unconditional,
            help: "Seconds SIGTERM waits for requests in flight before cancelling them.")
    var drainTimeout = ServeOptions().drainTimeout
    @Option(help: "Weights the products read: fp32, bf16 (bf16 products) or int8 (Q8_0 blocks of 32, one scale each).")
    var weights = "fp32"
    @Flag(name: .customLong("prefix-caching"), inversion: .prefixedNo,
          help: "Share the KV blocks of identical prompt prefixes between requests.")
    var prefixCaching = ServingSettings().prefixCaching

    func settings() throws -> ServingSettings {
        var s = ServingSettings()
        s.weights = try WeightFormat.parse(weights)
        s.slots = maxSeqs; s.blockSize = blockSize; s.blocks = kvBlocks; s.stepTokens = stepTokens
        s.tp = tp; s.pp = pp; s.microBatches = microBatches; s.prefixCaching = prefixCaching
        return s
    }

    func options() throws -> ServeOptions {
        var o = ServeOptions()
        o.host = host; o.port = port; o.maxBodyBytes = maxBody; o.maxChoices = maxN
        o.requestTimeout = requestTimeout; o.drainTimeout = drainTimeout
        o.modelName = modelName ?? URL(fileURLWithPath: checkpoint).standardizedFileURL.lastPathComponent
        return o
    }

    func validate() throws {
        try reportingErrors { try options().validate(); _ = try settings() }
    }

    func run() throws {
        try reportingErrors {
            var options = try options()
            let weights = try ModelWeights.load(checkpoint)
            if let sha = weights.config.tokenizerSha256 {
                // The server's requests and streams carry bytes; a tokenizer's ids do not fit them yet.
                throw ConfigError("\(checkpoint) reads ids through a tokenizer (sha256 \(sha.prefix(12))…); tessera serve "
                                  + "runs byte-level models only. Use tessera generate, which encodes through the tokenizer")
            }
            options.chatTemplate = try ChatTemplate.load(directory: checkpoint)
            let engine = try ServingEngine(weights: weights, source: checkpoint, settings: try settings())
            if tp * pp == 1 { Compute.threads = ProcessInfo.processInfo.activeProcessorCount }
            try TesseraServer.serve(engine: engine, options: options, log: say)
        }
    }
}
