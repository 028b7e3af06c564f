import Foundation

/// One string or a list of strings, as OpenAI accepts for `prompt` and `stop`.
struct StringOrList: Decodable, Sendable, Equatable {
    var values: [String]

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let one = try? container.decode(String.self) { values = [one]; return }
        if let many = try? container.decode([String].self) { values = many; return }
        throw DecodingError.typeMismatch([String].self, .init(codingPath: decoder.codingPath,
                                                               debugDescription: "expected a string or a list of strings"))
    }
}

/// The sampling and length fields `/v1/completions` and `/v1/chat/completions`
/// share (OpenAI's names; `top_k` as vLLM and llama.cpp add it). Unknown
/// fields are ignored, as OpenAI-compatible servers do.
struct SamplingFields: Decodable, Sendable {
    var model: String?
    var max_tokens: Int?
    var max_completion_tokens: Int?
    var temperature: Double?
    var top_p: Double?
    var top_k: Int?
    var n: Int?
    var stop: StringOrList?
    var seed: Int?
    var stream: Bool?
}

/// POST /v1/completions: `prompt` (a string or a list; each gets `n` choices) and the sampling fields.
struct CompletionRequest: Decodable, Sendable {
    var prompt: StringOrList
    var fields: SamplingFields
    /// Legacy log-probabilities: each token's and this many most likely alternatives'.
    var logprobs: Int?

    enum CodingKeys: String, CodingKey { case prompt, logprobs }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        prompt = try c.decode(StringOrList.self, forKey: .prompt)
        logprobs = try c.decodeIfPresent(Int.self, forKey: .logprobs)
        fields = try SamplingFields(from: decoder)
    }
}

/// One message of a chat: a role (system, user, assistant, ...) and its text.
struct ChatMessage: Codable, Sendable, Equatable {
    var role: String
    var content: String
}

/// POST /v1/chat/completions: `messages`, rendered through the chat template, and the sampling fields.
struct ChatRequest: Decodable, Sendable {
    var messages: [ChatMessage]
    var fields: SamplingFields
    /// Each token's log-probability, and `top_logprobs` most likely alternatives.
    var logprobs: Bool?
    var top_logprobs: Int?

    enum CodingKeys: String, CodingKey { case messages, logprobs, top_logprobs }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        messages = try c.decode([ChatMessage].self, forKey: .messages)
        logprobs = try c.decodeIfPresent(Bool.self, forKey: .logprobs)
        top_logprobs = try c.decodeIfPresent(Int.self, forKey: .top_logprobs)
        fields = try SamplingFields(from: decoder)
    }
}
