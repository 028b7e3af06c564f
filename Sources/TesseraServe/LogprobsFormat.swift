import Foundation
import Tessera

/// OpenAI's log-probability shapes for a choice's tokens (Tessera's tokens
/// are bytes): a token's name is its character when it is ASCII, else
/// `bytes:\xNN` (OpenAI's spelling of a token that is not whole UTF-8);
/// a log-probability that is not finite is written as -9999 (JSON has no
/// -inf; vLLM does the same).
enum LogprobsFormat {
    /// The name of byte token `b`.
    static func name(_ b: Int32) -> String {
        let byte = UInt8(truncatingIfNeeded: b)
        return byte < 0x80 ? String(UnicodeScalar(byte)) : String(format: "bytes:\\x%02x", byte)
    }

    static func value(_ x: Float) -> Float { x.isFinite ? x : -9999 }

    /// `logprobs` of a request: completions' `logprobs: k` (0...20 alternatives) or
    /// chat's `logprobs: true` with `top_logprobs: k`; nil when none are asked for.
    static func completionRequest(_ k: Int?) throws(APIError) -> Int? {
        guard let k else { return nil }
        guard (0...TokenLogprobs.maxTop).contains(k) else {
            throw APIError(400, "logprobs must be in 0...\(TokenLogprobs.maxTop) (alternatives per token), got \(k)", param: "logprobs")
        }
        return k
    }

    static func chatRequest(_ on: Bool?, top: Int?) throws(APIError) -> Int? {
        if let top {
            guard on == true else {
                throw APIError(400, "top_logprobs needs logprobs: true", param: "top_logprobs")
            }
            guard (0...TokenLogprobs.maxTop).contains(top) else {
                throw APIError(400, "top_logprobs must be in 0...\(TokenLogprobs.maxTop), got \(top)", param: "top_logprobs")
            }
        }
        return on == true ? (top ?? 0) : nil
    }
}

/// `/v1/completions`' legacy `logprobs` object for tokens `from ..< to` of a
/// choice: each token's name, its log-probability, the most likely
/// alternatives by name (the sampled token always among them, so up to k + 1,
/// as OpenAI documents), and each token's offset in bytes into the completion's text.
struct CompletionLogprobs: Encodable, Sendable {
    var tokens: [String] = []
    var token_logprobs: [Float] = []
    var top_logprobs: [[String: Float]] = []
    var text_offset: [Int] = []

    init(_ all: [TokenLogprobs], _ range: Range<Int>) {
        for i in range {
            let t = all[i]
            tokens.append(LogprobsFormat.name(t.sampled.token))
            token_logprobs.append(LogprobsFormat.value(t.sampled.logprob))
            var top: [String: Float] = [:]
            for e in t.top + [t.sampled] { top[LogprobsFormat.name(e.token)] = LogprobsFormat.value(e.logprob) }
            top_logprobs.append(top)
            text_offset.append(i)
        }
    }
}

/// `/v1/chat/completions`' `logprobs`: `{"content": [...]}`, one entry per
/// token with its name, log-probability, bytes and `top_logprobs` alternatives.
struct ChatLogprobs: Encodable, Sendable {
    struct Top: Encodable, Sendable {
        var token: String, logprob: Float, bytes: [Int]
    }
    struct Token: Encodable, Sendable {
        var token: String, logprob: Float, bytes: [Int], top_logprobs: [Top]
    }
    var content: [Token]

    init(_ all: [TokenLogprobs], _ range: Range<Int>) {
        func top(_ e: TokenLogprobs.Entry) -> Top {
            Top(token: LogprobsFormat.name(e.token), logprob: LogprobsFormat.value(e.logprob),
                bytes: [Int(UInt8(truncatingIfNeeded: e.token))])
        }
        content = range.map { i in
            let t = all[i], s = top(t.sampled)
            return Token(token: s.token, logprob: s.logprob, bytes: s.bytes, top_logprobs: t.top.map(top))
        }
    }
}
