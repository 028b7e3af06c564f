import Foundation

/// One sequence a server asks the engine for: a prompt's bytes, how many
/// to add, when to stop and how to draw them. A request with `n` choices
/// is n of these with the same prompt and `stream` 0 ..< n (the sampler's
/// draws are keyed by (seed, stream, position), so a seeded request gives
/// the same text whatever else is being served and on any layout).
public struct ServingRequest: Sendable, Equatable {
    /// Unique among the server's sequences (events name it).
    public var id: Int
    public var prompt: [UInt8]
    /// Bytes to generate at most (fewer when a stop sequence comes first).
    public var maxTokens: Int
    /// The sequence ends once its output ends with one of these.
    public var stop: [[UInt8]]
    public var temperature: Float, topK: Int, topP: Float, seed: UInt64
    /// Which draw stream of the seed this sequence uses (a choice's index).
    public var stream: Int
    /// Report each token's log-probability and this many most likely alternatives
    /// (0...`TokenLogprobs.maxTop`; nil: none), as `.logprobs` events.
    public var logprobs: Int?

    public init(id: Int, prompt: [UInt8], maxTokens: Int, stop: [[UInt8]] = [], temperature: Float = 0, topK: Int = 0,
                topP: Float = 1, seed: UInt64 = 0, stream: Int = 0, logprobs: Int? = nil) {
        self.id = id; self.prompt = prompt; self.maxTokens = maxTokens; self.stop = stop
        self.temperature = temperature; self.topK = topK; self.topP = topP; self.seed = seed; self.stream = stream
        self.logprobs = logprobs
    }

    var sampler: TokenSampler { TokenSampler(temperature: temperature, topK: topK, topP: topP, seed: seed) }
}

/// What rank 0 tells every rank before a round: requests that join,
/// sequences to cancel, and whether to stop. Sent as one int64 array
/// (`encoded`), so threads and MPI processes apply the same changes at the
/// same round and their schedulers stay identical.
struct ServingControl: Equatable {
    var submit: [ServingRequest] = []
    var cancel: [Int] = []
    var stop = false

    var isEmpty: Bool { submit.isEmpty && cancel.isEmpty && !stop }

    /// [stop, submits, each request's fields (logprobs -1: none), cancels, each id].
    var encoded: [Int64] {
        var out: [Int64] = [stop ? 1 : 0, Int64(submit.count)]
        for r in submit {
            out += [Int64(r.id), Int64(r.maxTokens), Int64(r.stream), Int64(bitPattern: r.seed),
                    Int64(r.temperature.bitPattern), Int64(r.topK), Int64(r.topP.bitPattern), Int64(r.logprobs ?? -1),
                    Int64(r.prompt.count)]
            out += r.prompt.map(Int64.init)
            out.append(Int64(r.stop.count))
            for s in r.stop { out.append(Int64(s.count)); out += s.map(Int64.init) }
        }
        out.append(Int64(cancel.count))
        out += cancel.map(Int64.init)
        return out
    }

    /// The control `encoded` made (every rank decodes what rank 0 encoded).
    init(decoding e: [Int64]) {
        var i = 0
        func next() -> Int64 { defer { i += 1 }; return e[i] }
        func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: next()) } }
        stop = next() != 0
        for _ in 0..<Int(next()) {
            let id = Int(next()), maxTokens = Int(next()), stream = Int(next()), seed = UInt64(bitPattern: next())
            let temperature = Float(bitPattern: UInt32(truncatingIfNeeded: next())), topK = Int(next())
            let topP = Float(bitPattern: UInt32(truncatingIfNeeded: next()))
            let logprobs = Int(next())
            let prompt = bytes(Int(next()))
            let stops = (0..<Int(next())).map { _ in bytes(Int(next())) }
            submit.append(ServingRequest(id: id, prompt: prompt, maxTokens: maxTokens, stop: stops,
                                         temperature: temperature, topK: topK, topP: topP, seed: seed, stream: stream,
                                         logprobs: logprobs < 0 ? nil : logprobs))
        }
        cancel = (0..<Int(next())).map { _ in Int(next()) }
    }

    init(submit: [ServingRequest] = [], cancel: [Int] = [], stop: Bool = false) {
        self.submit = submit; self.cancel = cancel; self.stop = stop
    }
}
