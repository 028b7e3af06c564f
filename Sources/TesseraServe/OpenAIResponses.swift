import Foundation

/// Token counts of a response (tokens are bytes for Tessera's byte-level models).
struct Usage: Codable, Sendable, Equatable {
    var prompt_tokens: Int, completion_tokens: Int, total_tokens: Int
}

/// A `/v1/completions` response, or one chunk of its stream (`finish_reason` nil until a choice ends).
struct CompletionResponse: Encodable, Sendable {
    struct Choice: Encodable, Sendable {
        var text: String
        var index: Int
        var logprobs: CompletionLogprobs? = nil
        var finish_reason: String?

        enum CodingKeys: String, CodingKey { case text, index, logprobs, finish_reason }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(text, forKey: .text)
            try c.encode(index, forKey: .index)
            try c.encode(logprobs, forKey: .logprobs)
            try c.encode(finish_reason, forKey: .finish_reason)
        }
    }
    var id: String
    var object = "text_completion"
    var created: Int
    var model: String
    var choices: [Choice]
    var usage: Usage?
}

/// A `/v1/chat/completions` response.
struct ChatResponse: Encodable, Sendable {
    struct Choice: Encodable, Sendable {
        var index: Int
        var message: ChatMessage
        var logprobs: ChatLogprobs? = nil
        var finish_reason: String?

        enum CodingKeys: String, CodingKey { case index, message, logprobs, finish_reason }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(index, forKey: .index)
            try c.encode(message, forKey: .message)
            try c.encode(logprobs, forKey: .logprobs)
            try c.encode(finish_reason, forKey: .finish_reason)
        }
    }
    var id: String
    var object = "chat.completion"
    var created: Int
    var model: String
    var choices: [Choice]
    var usage: Usage
}

/// One chunk of a streamed chat completion: the role first, then content deltas, then the finish reason.
struct ChatChunk: Encodable, Sendable {
    struct Delta: Encodable, Sendable {
        var role: String?
        var content: String?
    }
    struct Choice: Encodable, Sendable {
        var index: Int
        var delta: Delta
        var finish_reason: String?
        var logprobs: ChatLogprobs? = nil

        enum CodingKeys: String, CodingKey { case index, delta, logprobs, finish_reason }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(index, forKey: .index)
            try c.encode(delta, forKey: .delta)
            try c.encode(logprobs, forKey: .logprobs)
            try c.encode(finish_reason, forKey: .finish_reason)
        }
    }
    var id: String
    var object = "chat.completion.chunk"
    var created: Int
    var model: String
    var choices: [Choice]
}

/// GET /v1/models.
struct ModelList: Encodable, Sendable {
    struct Model: Encodable, Sendable {
        var id: String
        var object = "model"
        var created: Int
        var owned_by = "tessera"
        /// The model's context in tokens (bytes), as vLLM reports it.
        var max_model_len: Int
    }
    var object = "list"
    var data: [Model]
}

/// An OpenAI-style error: the HTTP status and `{"error": {"message", "type", "param", "code"}}`.
struct APIError: Error, Sendable, Equatable {
    var status: Int
    var message: String
    var type = "invalid_request_error"
    var param: String?
    var code: String?

    init(_ status: Int, _ message: String, param: String? = nil, code: String? = nil, type: String? = nil) {
        self.status = status; self.message = message; self.param = param; self.code = code
        if let type { self.type = type } else if status >= 500 { self.type = "server_error" }
    }

    struct Body: Encodable {
        struct Inner: Encodable {
            var message: String, type: String, param: String?, code: String?
            enum CodingKeys: String, CodingKey { case message, type, param, code }
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(message, forKey: .message)
                try c.encode(type, forKey: .type)
                try c.encode(param, forKey: .param)
                try c.encode(code, forKey: .code)
            }
        }
        var error: Inner
    }

    var body: Body { Body(error: .init(message: message, type: type, param: param, code: code)) }
}

enum JSON {
    static func encode<T: Encodable>(_ value: T) -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.withoutEscapingSlashes]
        return (try? e.encode(value)) ?? Data("{}".utf8)
    }
}
