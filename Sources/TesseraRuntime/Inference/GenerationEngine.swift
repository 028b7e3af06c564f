import Foundation
import TesseraSupport
import TesseraKernels
import TesseraComm

/// One rank's generation loop: pipeline stages as an assembly line.
///
/// The batch's slots form `groups` micro-batches. Each round, a stage runs
/// one step of every micro-batch in turn: the first stage embeds the step's
/// tokens, every stage runs its blocks and hands the activation to the next
/// (point-to-point, eager), the last computes logits, samples one byte per
/// sampling sequence and sends the bytes back to every other stage. A micro-batch's
/// next step waits for its own bytes only, so with at least `pp` groups the
/// stages work on different micro-batches at once; with fewer, they wait
/// (the bubble, measured as the time a stage spends receiving). With pp = 1
/// and one group this is plain batched decoding. Every rank runs the same
/// scheduler (`StepScheduler`), so all agree on each step's batch.
/// `run` goes round until every request has finished (`tessera generate`);
/// `ServingEngine` calls `round` itself, changing the scheduler's requests between rounds.
final class GenerationEngine {
    let stage: InferenceStage
    /// The pipeline group: this rank's stage and the other stages' ranks of its tensor-parallel coordinate.
    let pipeline: ProcessGroup
    let scheduler: any StepScheduler
    /// Keep the logits each sampled byte came from (for equivalence checks).
    let recordLogits: Bool
    /// Each group's step sent down the pipeline and not yet accepted, and its sampled bytes.
    private var inFlight: [DecodeBatch?]
    private var sampled: [[Int32]]
    /// Per group: the log-probabilities of its step's sampling segments that asked for them, packed in order.
    private var packedLogprobs: [[Float]]
    private let start = Date()

    init(stage: InferenceStage, pipeline: ProcessGroup, scheduler: any StepScheduler, recordLogits: Bool) {
        self.stage = stage; self.pipeline = pipeline; self.scheduler = scheduler
        self.recordLogits = recordLogits
        inFlight = Array(repeating: nil, count: scheduler.groupCount)
        sampled = Array(repeating: [], count: scheduler.groupCount)
        packedLogprobs = Array(repeating: [], count: scheduler.groupCount)
    }

    static let tokenTagBase = 8192

    /// Runs every one of `requests` requests to its end, calling `emit` with
    /// each event in order (on every rank alike); returns what this rank saw.
    func run(requests: Int, emit: (GenerationEvent) -> Void) throws -> GenerationOutput {
        var output = GenerationOutput(requests: requests, cacheBytes: stage.cacheBytes,
                                      cacheBytesPerToken: stage.cacheBytesPerToken)
        let cpu = ProcessCPUTime.seconds()
        while try round(&output, emit: emit) {}
        output.seconds = Date().timeIntervalSince(start)
        output.cpuSeconds = ProcessCPUTime.seconds() - cpu
        return output
    }

    /// Whether some group's step has been computed here and not yet accepted.
    var hasInFlight: Bool { inFlight.contains { $0 != nil } }

    /// One round: for each group, accepts its step in flight (its sampled
    /// bytes, received from the last stage) and computes its next step.
    /// Returns whether any group computed a step.
    func round(_ output: inout GenerationOutput, emit: (GenerationEvent) -> Void) throws -> Bool {
        let d = stage.model.config.dModel
        let ppRank = pipeline.rank, last = pipeline.size - 1
        func receive(_ t: Tensor, from peer: Int, tag: Int) throws {
            let t0 = Date()
            try pipeline.recv(t.data, count: t.count, from: peer, tag: tag)
            output.waitSeconds += Date().timeIntervalSince(t0)
        }
        var worked = false
        for g in 0..<inFlight.count {
            if let batch = inFlight[g] {
                let keys = scheduler.sampleKeys(batch), n = batch.sampling.count
                if ppRank != last {
                    let extra = keys.reduce(0) { $0 + ($1.logprobs.map(TokenLogprobs.packedCount) ?? 0) }
                    let t = Tensor(uninitialized: [n + extra])
                    if t.count > 0 { try receive(t, from: last, tag: Self.tokenTagBase + g) }
                    sampled[g] = (0..<n).map { Int32(t[$0]) }
                    packedLogprobs[g] = (n..<t.count).map { t[$0] }
                }
                let reported = Self.unpack(packedLogprobs[g], keys: keys, sampled: sampled[g])
                let now = Date().timeIntervalSince(start)
                for event in scheduler.accept(batch, sampled: sampled[g]) {
                    if case .token(let r, _) = event, let lp = reported[r] { emit(.logprobs(request: r, lp)) }
                    output.record(event, at: now)
                    emit(event)
                }
                inFlight[g] = nil
            }
            guard let batch = scheduler.nextBatch(group: g) else { continue }
            worked = true
            let cpu0 = ProcessCPUTime.seconds()
            let x: Tensor
            if stage.isFirst { x = try stage.embed(batch) } else {
                x = Tensor(uninitialized: [batch.rows, d])
                try receive(x, from: ppRank - 1, tag: g)
            }
            let h = try stage.blocks(x, batch)
            output.rows += batch.rows
            if stage.isLast {
                (sampled[g], packedLogprobs[g]) = batch.sampling.isEmpty ? ([], []) : try sample(h, batch, into: &output)
                let message = sampled[g].map(Float.init) + packedLogprobs[g]
                let t = Tensor([message.count], message)
                for peer in 0..<last where t.count > 0 {
                    try pipeline.send(t.data, count: t.count, to: peer, tag: Self.tokenTagBase + g)
                }
            } else {
                try pipeline.send(h.data, count: h.count, to: ppRank + 1, tag: g)
            }
            inFlight[g] = batch
            if batch.segments.allSatisfy({ $0.count == 1 }) {
                output.decodeStepCPUSeconds.append(ProcessCPUTime.seconds() - cpu0)
            }
        }
        return worked
    }

    /// Last stage: one byte per sampling segment from its last row's logits, drawn as the scheduler says,
    /// and the packed log-probabilities of the segments that ask for them.
    private func sample(_ h: Tensor, _ batch: DecodeBatch, into output: inout GenerationOutput) throws -> ([Int32], [Float]) {
        let logits = try stage.logits(h), vocab = stage.model.config.vocab
        var packed: [Float] = []
        let picks = scheduler.sampleKeys(batch).enumerated().map { i, key in
            let row = logits.data + i * vocab
            if recordLogits && key.request < output.logits.count {
                output.logits[key.request].append(Array(UnsafeBufferPointer(start: row, count: vocab)))
            }
            let token = key.sampler.pick(row, request: key.stream, position: key.position)
            if let top = key.logprobs {
                packed += TokenLogprobs(logits: row, choices: key.sampler.choices, picked: token, top: top).packed
            }
            return token
        }
        return (picks, packed)
    }

    /// The log-probabilities `packed` holds, by request, for the keys that asked for them.
    private static func unpack(_ packed: [Float], keys: [SampleKey], sampled: [Int32]) -> [Int: TokenLogprobs] {
        guard !packed.isEmpty else { return [:] }
        var out: [Int: TokenLogprobs] = [:], at = 0
        for (key, token) in zip(keys, sampled) {
            guard let top = key.logprobs else { continue }
            out[key.request] = TokenLogprobs(unpacking: packed[at...], token: token, top: top)
            at += TokenLogprobs.packedCount(top: top)
        }
        return out
    }
}

/// What one rank saw of a generation run.
public struct GenerationOutput: Sendable {
    /// Generated tokens of each request, in request order.
    public var tokens: [[Int32]]
    /// Last stage with recording on: each generated byte's logits [vocab], per request.
    public var logits: [[[Float]]]
    /// Seconds from the first step to the last, and of them spent waiting for another stage.
    public var seconds = 0.0, waitSeconds = 0.0
    /// CPU seconds the whole process used over `run`'s loop (every thread, so every rank of a threads world).
    public var cpuSeconds = 0.0
    /// CPU seconds of the process over each decode step this rank computed (one new row per sequence, no
    /// prompt rows; from its input to its sampled bytes sent): a step's cost whatever else shares the cores.
    public var decodeStepCPUSeconds: [Double] = []

    /// Rows (tokens) this rank's blocks computed: prompts and generated tokens.
    public var rows = 0
    /// Seconds since the start at which each request's bytes arrived (for latency percentiles).
    public var arrivals: [[Double]]
    /// KV cache bytes on this rank, and per cached token.
    public var cacheBytes: Int, cacheBytesPerToken: Int

    init(requests: Int, cacheBytes: Int, cacheBytesPerToken: Int) {
        tokens = Array(repeating: [], count: requests)
        logits = Array(repeating: [], count: requests)
        arrivals = Array(repeating: [], count: requests)
        self.cacheBytes = cacheBytes; self.cacheBytesPerToken = cacheBytesPerToken
    }

    mutating func record(_ event: GenerationEvent, at seconds: Double) {
        guard case .token(let r, let token) = event, r < tokens.count else { return }
        tokens[r].append(token)
        arrivals[r].append(seconds)
    }

    /// Generated bytes of each request of a byte-level model (each token is a byte).
    public var texts: [[UInt8]] { tokens.map { $0.map { UInt8(truncatingIfNeeded: $0) } } }
    /// Generated tokens of every request.
    public var generatedTokens: Int { tokens.reduce(0) { $0 + $1.count } }
    /// Intervals between consecutive bytes of a request, over all requests (per-token decode latency).
    public var tokenIntervals: [Double] {
        arrivals.flatMap { a in zip(a.dropFirst(), a).map { $0 - $1 } }
    }
}
