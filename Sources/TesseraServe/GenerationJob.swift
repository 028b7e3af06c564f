import Foundation
import Tessera

/// A request's generation work, checked: one prompt per entry of `prompts`,
/// each continued `n` times (choice index = prompt index · n + choice), with
/// the sampling settings every choice shares. `make` refuses what OpenAI
/// refuses, with the parameter named and the valid range.
struct GenerationJob: Sendable {
    var prompts: [[UInt8]]
    var n: Int
    var maxTokens: [Int]
    var stop: [[UInt8]]
    var temperature: Float, topP: Float, topK: Int
    var seed: UInt64
    var stream: Bool
    /// Log-probabilities per token with this many alternatives (nil: none).
    var logprobs: Int? = nil

    var promptTokens: Int { prompts.reduce(0) { $0 + $1.count } * n }

    /// What a server accepts: its model's name, context and pool, and the most choices a request may ask for.
    struct Limits: Sendable {
        var model: String
        /// Positions a sequence may reach: the model's context, at most the KV pool's positions.
        var context: Int
        var maxChoices: Int
        static let maxPrompts = 64
    }

    /// `defaultMaxTokens(promptLength)`: the length when the request names none.
    static func make(_ fields: SamplingFields, prompts: [[UInt8]], promptParam: String, limits: Limits,
                     defaultMaxTokens: (Int) -> Int) throws(APIError) -> GenerationJob {
        if let model = fields.model, model != limits.model {
            throw APIError(404, "The model '\(model)' does not exist; this server serves '\(limits.model)' (GET /v1/models)",
                           param: "model", code: "model_not_found")
        }
        let n = fields.n ?? 1
        guard (1...limits.maxChoices).contains(n) else {
            throw APIError(400, "n must be in 1...\(limits.maxChoices), got \(n)", param: "n")
        }
        guard !prompts.isEmpty, prompts.count <= Limits.maxPrompts else {
            throw APIError(400, "\(promptParam) must hold 1...\(Limits.maxPrompts) prompts, got \(prompts.count)", param: promptParam)
        }
        if prompts.contains(where: \.isEmpty) {
            throw APIError(400, "\(promptParam) is empty; a prompt needs at least one byte to continue", param: promptParam)
        }
        let temperature = fields.temperature ?? 1
        guard temperature.isFinite, (0...2).contains(temperature) else {
            throw APIError(400, "temperature must be in 0...2 (0: greedy), got \(temperature)", param: "temperature")
        }
        let topP = fields.top_p ?? 1
        guard topP.isFinite, topP > 0, topP <= 1 else { throw APIError(400, "top_p must be in (0, 1], got \(topP)", param: "top_p") }
        let topK = fields.top_k ?? 0
        guard topK >= -1 else { throw APIError(400, "top_k must be -1 or 0 (all tokens) or positive, got \(topK)", param: "top_k") }
        let stops = fields.stop?.values ?? []
        guard stops.count <= 4 else { throw APIError(400, "stop holds at most 4 sequences, got \(stops.count)", param: "stop") }
        var maxTokens: [Int] = []
        for p in prompts {
            guard p.count < limits.context else {
                throw APIError(400, "This model's maximum context length is \(limits.context) tokens, but the prompt "
                               + "is \(p.count) tokens (bytes); shorten it to at most \(limits.context - 1) so one token fits",
                               param: promptParam, code: "context_length_exceeded")
            }
            let asked = fields.max_tokens ?? fields.max_completion_tokens
            let m = asked ?? min(defaultMaxTokens(p.count), limits.context - p.count)
            guard m >= 1 else { throw APIError(400, "max_tokens must be at least 1, got \(m)", param: "max_tokens") }
            guard p.count + m <= limits.context else {
                throw APIError(400, "This model's maximum context length is \(limits.context) tokens. However, you "
                               + "requested \(p.count + m) tokens (\(p.count) in the prompt, \(m) for the completion); "
                               + "max_tokens may be at most \(limits.context - p.count) for this prompt",
                               param: "max_tokens", code: "context_length_exceeded")
            }
            maxTokens.append(m)
        }
        return GenerationJob(prompts: prompts, n: n, maxTokens: maxTokens, stop: stops.map { Array($0.utf8) }.filter { !$0.isEmpty },
                             temperature: Float(temperature), topP: Float(topP), topK: max(0, topK),
                             seed: fields.seed.map { UInt64(bitPattern: Int64($0)) } ?? UInt64.random(in: 0...UInt64.max),
                             stream: fields.stream ?? false)
    }

    /// The engine's sequences for this job, ids from `makeID`.
    func sequences(_ makeID: () -> Int) -> [ServingRequest] {
        prompts.enumerated().flatMap { p, prompt in
            (0..<n).map { c in
                ServingRequest(id: makeID(), prompt: prompt, maxTokens: maxTokens[p], stop: stop, temperature: temperature,
                               topK: topK, topP: topP, seed: seed, stream: c, logprobs: logprobs)
            }
        }
    }
}
