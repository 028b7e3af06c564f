import TesseraSupport
import TesseraTopology
import TesseraKernels

/// What serving a model costs on one replica of tp × pp devices: the weights
/// and KV cache (key/value cache) each device holds, the largest batch that
/// fits at a context length, the time per output token (TPOT) of a decode step
/// bounded by memory bandwidth (every weight and every cached key and value
/// read once per step) and by compute (2 FLOPs per parameter per sequence,
/// at the hardware's achievable fraction of peak), plus the tensor-parallel
/// all-reduces and pipeline hand-offs, and the time to first token (TTFT) of
/// one prompt. A token passes the pp stages one after another, so pp adds
/// latency and buys memory; tp divides every stage's reads and adds two
/// all-reduces per block.
///
/// The pipeline keeps pp micro-batches of ⌈batch/pp⌉ sequences in flight, one
/// per stage, so a replica emits `batch` tokens every TPOT.
///
/// With a profile's measured decode rates (`Hardware.decode`, a CPU) a stage's
/// step is instead their sum: the products at the measured cost per weight
/// byte for ⌈batch/pp⌉ rows (the one-row figure is the weights' streaming,
/// "memory"; what more rows add, "compute") and the KV cache read at the
/// attention kernel's rate (`DecodeRates`); the datasheet bounds are what a
/// GPU preset has.
public struct ServingPlan: Sendable {
    /// What is served: context and prompt length, the batch (nil: the largest that fits), bytes per weight and per
    /// cached value, and the share of device memory the server may use (the rest: runtime, workspace, fragmentation).
    public struct Request: Sendable {
        public var context: Int, prompt: Int
        public var batch: Int?
        public var weightBytes: Double, kvBytes: Double
        public var memoryFraction: Double
        public init(context: Int, prompt: Int, batch: Int? = nil, weightBytes: Double = 2, kvBytes: Double = 2,
                    memoryFraction: Double = 0.9) {
            self.context = context; self.prompt = prompt; self.batch = batch
            self.weightBytes = weightBytes; self.kvBytes = kvBytes; self.memoryFraction = memoryFraction
        }
    }

    public let tp: Int, pp: Int
    /// Replicas on the devices: ⌊devices / (tp·pp)⌋.
    public let replicas: Int
    /// Bytes of weights on the most loaded device, and the bytes of one token's keys and values there.
    public let weightBytes: Double, kvBytesPerToken: Double
    /// Bytes one device may fill with KV cache.
    public let kvRoom: Double
    /// Sequences of `context` tokens whose KV cache fits beside the weights (0: the weights alone do not fit).
    public let maxBatch: Int
    /// The batch evaluated (the request's, else `maxBatch`, at least 1).
    public let batch: Int
    /// One decode step: seconds of one stage bounded by memory reads and by compute, its tensor-parallel
    /// all-reduces, one pipeline hand-off, and the time per output token over all stages.
    public let stageMemorySeconds: Double, stageComputeSeconds: Double, stageTPSeconds: Double, handOffSeconds: Double
    public let tpot: Double
    /// Time to first token of one prompt of `request.prompt` tokens (prefill through every stage).
    public let ttft: Double
    /// Whether the weights and the batch's cache fit.
    public var fits: Bool { maxBatch >= batch }
    /// Tokens per second of one replica, and of all of them.
    public var tokensPerSecond: Double { Double(batch) / tpot }
    public var totalTokensPerSecond: Double { tokensPerSecond * Double(replicas) }
    /// Whether the decode step came from measured rates (their sum) rather than the datasheet bounds (their max).
    public let measuredDecode: Bool
    /// One stage's decode step before communication: memory and compute added (measured rates) or the larger.
    public var stageSeconds: Double {
        measuredDecode ? stageMemorySeconds + stageComputeSeconds : max(stageMemorySeconds, stageComputeSeconds)
    }
    /// "memory" or "compute": what bounds (or, measured, takes the larger share of) a decode stage.
    public var bound: String { stageMemorySeconds >= stageComputeSeconds ? "memory" : "compute" }

    /// The plan of `shape` on tp × pp of `devices` devices of `hardware` at `precision`; a `ConfigError` when tp
    /// does not divide the heads or pp exceeds the blocks.
    public init(_ shape: ModelShape, tp: Int, pp: Int, devices: Int, hardware: Hardware, precision: Precision,
                request r: Request) throws {
        guard tp >= 1, shape.heads % tp == 0 else {
            throw ConfigError("tp \(tp) must divide the model's \(shape.heads) attention heads")
        }
        guard (1...shape.layers).contains(pp) else {
            throw ConfigError("pp \(pp) must be in 1...\(shape.layers) (the model's blocks)")
        }
        guard tp * pp <= devices else {
            throw ConfigError("tp \(tp) × pp \(pp) = \(tp * pp) devices, more than the \(devices) given")
        }
        self.tp = tp; self.pp = pp
        replicas = devices / (tp * pp)
        let blocks = (shape.layers + pp - 1) / pp   // the most loaded stage
        let blockParams = shape.blockParameters(0..<blocks, tp: tp).local
        let embedding = shape.embeddingParameters(tp: tp), head = shape.headParameters(tp: tp)
        // Held: the first stage holds the embedding, the last the head (both when pp is 1).
        let held = blockParams + (pp == 1 ? embedding + head : max(embedding, head))
        weightBytes = held * r.weightBytes
        // Read per decode step: every matrix of the stage; the token embedding only as the head when tied
        // (learned positions are looked up one row a token, not streamed).
        let readParams = blockParams + head + (shape.tied ? shape.paddedVocab(tp: tp) * Double(shape.dModel) / Double(tp) : 0)
        let kvHeadsHere = Double((shape.kvHeads + tp - 1) / tp)   // tp beyond the kv heads replicates them
        kvBytesPerToken = 2 * Double(blocks) * kvHeadsHere * Double(shape.headDim) * r.kvBytes
        kvRoom = max(0, hardware.memoryPerDevice(gpus: tp * pp) * r.memoryFraction - weightBytes)
        let perSequence = kvBytesPerToken * Double(r.context)
        maxBatch = weightBytes > hardware.memoryPerDevice(gpus: tp * pp) * r.memoryFraction ? 0
            : Int(min(kvRoom / max(perSequence, 1), 1e9))
        batch = max(1, r.batch ?? maxBatch)

        let micro = Double((batch + pp - 1) / pp)     // sequences per pipeline micro-batch
        let rate = hardware.peak(precision) * hardware.matmulFraction
        let h = Double(shape.dModel), bytes = r.weightBytes
        let headsHere = Double(shape.heads / tp), width = Double(shape.headDim)
        // Decode: one new token per sequence attends over `context` cached positions.
        let cacheRead = micro * Double(r.context) * kvBytesPerToken
        if let d = hardware.decode {
            // Memory: the weights streamed (the one-row pass) and the cache read; compute: what `micro` rows add.
            let weights = readParams * bytes
            stageMemorySeconds = d.productSeconds(weightBytes: weights, rows: 1) + d.attentionSeconds(cacheBytes: cacheRead)
            stageComputeSeconds = d.productSeconds(weightBytes: weights, rows: micro) - d.productSeconds(weightBytes: weights, rows: 1)
        } else {
            stageMemorySeconds = (readParams * bytes + cacheRead) / hardware.memoryBandwidth
            let attentionFlops = 4 * Double(blocks) * headsHere * width * Double(r.context) * micro
            stageComputeSeconds = (2 * readParams * micro + attentionFlops) / rate
        }
        measuredDecode = hardware.decode != nil
        let tpLink = hardware.link(span: tp), ppLink = hardware.link(span: tp * pp)
        stageTPSeconds = tp == 1 ? 0
            : 2 * Double(blocks) * CollectiveModel.seconds(.allReduce, bytes: micro * h * bytes, ranks: tp, link: tpLink)
        handOffSeconds = pp == 1 ? 0 : CollectiveModel.seconds(.pointToPoint, bytes: micro * h * bytes, ranks: 2, link: ppLink)
        let stage = measuredDecode ? stageMemorySeconds + stageComputeSeconds : max(stageMemorySeconds, stageComputeSeconds)
        tpot = Double(pp) * (stage + stageTPSeconds) + Double(pp - 1) * handOffSeconds

        // Prefill of one prompt: products over all its tokens, causal attention over half the square.
        let p = Double(r.prompt)
        let prefillCompute = (2 * readParams * p + 2 * Double(blocks) * headsHere * width * p * p) / rate
        let prefillMemory = (readParams * bytes + p * kvBytesPerToken) / hardware.memoryBandwidth
        let prefillTP = tp == 1 ? 0 : 2 * Double(blocks) * CollectiveModel.seconds(.allReduce, bytes: p * h * bytes, ranks: tp, link: tpLink)
        let prefillHandOff = pp == 1 ? 0 : CollectiveModel.seconds(.pointToPoint, bytes: p * h * bytes, ranks: 2, link: ppLink)
        ttft = Double(pp) * (max(prefillCompute, prefillMemory) + prefillTP) + Double(pp - 1) * prefillHandOff
    }

    /// What the search optimises.
    public enum Target: String, Sendable, CaseIterable {
        /// The least time per output token at the batch.
        case latency
        /// The most tokens per second over all devices, each replica at its largest batch.
        case throughput
    }

    /// Every tp × pp that fits `devices` (tp dividing the heads and at most a node, pp up to the blocks,
    /// tp·pp dividing the devices), best first for `target`. Layouts whose weights do not fit are left out.
    public static func search(_ shape: ModelShape, devices: Int, hardware: Hardware, precision: Precision,
                              request: Request, target: Target, maxTPOT: Double? = nil) -> [ServingPlan] {
        var plans: [ServingPlan] = []
        for tp in 1...max(1, min(devices, hardware.gpusPerNode)) where shape.heads % tp == 0 {
            for pp in 1...min(shape.layers, devices / tp) where devices % (tp * pp) == 0 {
                guard let plan = try? ServingPlan(shape, tp: tp, pp: pp, devices: devices, hardware: hardware,
                                                  precision: precision, request: request),
                      plan.fits, maxTPOT.map({ plan.tpot <= $0 }) ?? true else { continue }
                plans.append(plan)
            }
        }
        switch target {
        case .latency: return plans.sorted { ($0.tpot, $0.tp * $0.pp) < ($1.tpot, $1.tp * $1.pp) }
        case .throughput: return plans.sorted { ($0.totalTokensPerSecond, -$0.tpot) > ($1.totalTokensPerSecond, -$1.tpot) }
        }
    }
}
