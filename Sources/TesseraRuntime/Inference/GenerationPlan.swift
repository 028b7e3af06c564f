import Foundation
import TesseraTokenizer
import TesseraSupport
import TesseraTopology
import TesseraCost
import TesseraKernels

/// Everything one `tessera generate` run is asked to do, checked against
/// the model before any rank starts: the prompts, how many tokens to add to
/// each, sampling, the batch (cache slots), and the layout (tp × pp).
/// A byte-level model's tokens are bytes; a model trained through a
/// tokenizer reads its prompts encoded by it (`promptIDs`) and the sampler
/// chooses among the tokenizer's ids.
public struct GenerationPlan: Sendable {
    /// The prompts as text (UTF-8 bytes), one request each, in output order.
    public var prompts: [[UInt8]]
    /// The model's tokenizer (nil: a byte-level model, whose ids are bytes).
    public var tokenizer: Tokenizer? {
        didSet { sampler.choices = tokenizer?.vocabSize ?? TokenSampler.byteTokens }
    }
    /// Tokens to generate per request (fewer when the stop string comes first).
    public var tokens = 200
    /// A request ends once the text it generated ends with this (empty: none).
    public var stop: [UInt8] = []
    /// Sequences decoded at once (KV cache slots); waiting requests take freed slots.
    public var batch = 8
    public var sampler = TokenSampler() {
        didSet { sampler.choices = tokenizer?.vocabSize ?? TokenSampler.byteTokens }
    }
    /// Tensor- and pipeline-parallel ranks.
    public var tp = 1, pp = 1
    /// Micro-batches the batch is split into for the pipeline (nil: pp, or the batch when smaller).
    public var microBatches: Int?
    /// Most token rows one step computes: decode rows first, prompts share
    /// the rest, a longer prompt over several steps (chunked prefill). It
    /// bounds a step's activations ([stepTokens, 4d] in the MLP) so they stay
    /// in cache and are reused step after step; it changes no result beyond
    /// float32 rounding of the products' blocking.
    public var stepTokens = 512
    /// The form the products read weights in (`--weights`): fp32, bf16 or int8 blocks.
    public var weights = WeightFormat.fp32

    public init(prompts: [[UInt8]]) { self.prompts = prompts }

    /// Micro-batch groups the engine runs.
    public var groups: Int { microBatches ?? min(batch, pp) }
    /// Slots the run needs: no more than there are requests.
    public var slots: Int { max(1, min(batch, prompts.count)) }
    /// Ranks the layout needs.
    public var worldSize: Int { tp * pp }

    /// The prompts as the model's ids: encoded by the tokenizer (its special
    /// tokens added, as transformers' tokenizer(text) does), or their bytes.
    public var promptIDs: [[Int32]] {
        guard let tokenizer else { return prompts.map { $0.map(Int32.init) } }
        return prompts.map { tokenizer.encode(bytes: $0, addSpecialTokens: true) }
    }

    /// The bytes each id spells (nil for a byte-level model: each id is its byte).
    var spellings: [[UInt8]]? {
        guard let tokenizer else { return nil }
        return (0..<tokenizer.vocabSize).map { tokenizer.decode([Int32($0)]) }
    }

    /// Positions a slot holds: the longest prompt plus the tokens to generate, at most the context.
    public func capacity(_ model: GPTConfig) -> Int {
        min(model.seqLen, (promptIDs.map(\.count).max() ?? 0) + tokens)
    }

    /// Throws a one-line `ConfigError` for the first setting out of range
    /// whatever the model (what the command line can check before reading a checkpoint).
    public func validateSettings() throws {
        guard !prompts.isEmpty else { throw ConfigError("no prompt given; pass --prompt TEXT (repeatable) or --prompts FILE") }
        if let i = prompts.firstIndex(where: \.isEmpty) {
            throw ConfigError("\(name(i)) is empty; a prompt needs at least one byte to continue")
        }
        guard (1...1_048_576).contains(tokens) else { throw ConfigError("--tokens must be in 1...1048576, got \(tokens)") }
        guard (1...4096).contains(batch) else { throw ConfigError("--batch must be in 1...4096, got \(batch)") }
        guard (1...1_048_576).contains(stepTokens) else {
            throw ConfigError("--step-tokens must be in 1...1048576, got \(stepTokens)")
        }
        try sampler.validate()
        guard tp >= 1, pp >= 1 else { throw ConfigError("--tp and --pp must be at least 1, got tp \(tp), pp \(pp)") }
    }

    private func name(_ i: Int) -> String { prompts.count == 1 ? "the prompt" : "prompt \(i + 1)" }

    /// Throws a one-line `ConfigError` for the first thing that cannot run
    /// on `model`, naming what is valid. A prompt longer than the context is
    /// an error (never silently truncated): it says how many bytes fit.
    public func validate(model: GPTConfig) throws {
        try validateSettings()
        if let tokenizer, tokenizer.vocabSize > model.vocab {
            throw ConfigError("the tokenizer has \(tokenizer.vocabSize) ids but the model's vocabulary is \(model.vocab)")
        }
        let unit = tokenizer == nil ? "bytes" : "tokens"
        for (i, p) in promptIDs.enumerated() {
            let name = name(i)
            guard p.count <= model.seqLen else {
                throw ConfigError("\(name) is \(p.count) \(unit), longer than the model's context of \(model.seqLen) "
                                  + "positions; at most \(model.seqLen) \(unit) fit (shorten it)")
            }
        }
        if let m = microBatches, !(1...min(slots, GenerationEngine.tokenTagBase)).contains(m) {
            throw ConfigError("--micro-batches \(m) must be in 1...\(slots) (the batch's sequences)")
        }
        try Topology.validate(layout, model: ModelShape(model), batch: groups)
        let cache = Double(cacheBytesPerToken(model)) * Double(capacity(model)) * Double(slots)
        let weights = Double(weightBytes(model))
        if let available = MemoryEstimate.availableBytes, cache + weights > available {
            throw ConfigError(String(format: "the KV cache (%.1f GiB for batch %d × %d positions) and weights need more "
                                     + "than the %.1f GiB available; use a smaller --batch or --tokens",
                                     cache / 1_073_741_824, slots, capacity(model), available / 1_073_741_824))
        }
    }

    /// Bytes of the weights over all ranks: the float32 values, plus the
    /// bf16 or int8 copies the products read under `weights`.
    public func weightBytes(_ model: GPTConfig) -> Int {
        4 * model.parameterCount + (weights == .fp32 ? 0 : weights.bytes(weights: model.parameterCount))
    }

    /// KV cache bytes per token over all ranks: 2 · layers · heads · head dim · 4
    /// (each rank holds its stage's layers and heads/tp of them). Llama caches
    /// its kv heads only, each on tp / kv-heads ranks when tp exceeds kv-heads.
    public func cacheBytesPerToken(_ model: GPTConfig) -> Int {
        let kv = model.kvHeadCount, replicas = kv % tp == 0 ? 1 : tp / kv
        return 2 * model.layers * kv * replicas * model.headDim * 4
    }

    /// The layout the ranks run: tp × pp, the pipeline's micro-batch groups
    /// in GPipe order (all forwards; generation has no backward).
    public var layout: Layout {
        var l = Layout()
        l.tp = tp
        l.pp = pp
        if pp > 1 { l.schedule = .gpipe }
        l.microBatches = groups
        return l
    }
}
