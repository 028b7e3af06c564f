import Foundation
import Hummingbird

/// Writes a session's events as OpenAI's server-sent events: for each
/// choice a chunk per delta of text (`ChoiceText.delta`, whole UTF-8
/// characters, stop sequences held back), a last chunk with its finish
/// reason, then `data: [DONE]`. A chat stream opens each choice with a
/// chunk whose delta is the assistant role. A timeout ends the stream with
/// an error event (`data: {"error": ...}`) before `[DONE]`.
struct SSEStream: Sendable {
    let id: String, created: Int, model: String, chat: Bool

    func run(_ session: EngineSession, choices: inout [ChoiceText], writer: inout any ResponseBodyWriter) async throws {
        if chat {
            for c in choices.indices { try await send(choice: c, text: nil, role: "assistant", finish: nil, &writer) }
        }
        var open = choices.count, timedOut = false
        loop: for await event in session.events {
            switch event {
            case .token(let c, let byte):
                choices[c].append(byte)
                let delta = choices[c].delta()
                if !delta.isEmpty { try await send(choice: c, text: delta, role: nil, finish: nil, logprobs: choices[c], &writer) }
            case .logprobs(let c, let lp):
                choices[c].append(lp)
            case .finished(let c):
                choices[c].finish()
                let delta = choices[c].delta()
                try await send(choice: c, text: delta, role: nil, finish: choices[c].finishReason, logprobs: choices[c], &writer)
                open -= 1
                if open == 0 { break loop }
            case .timedOut:
                let error = APIError(408, "the request did not finish within the server's request timeout", type: "timeout_error")
                try await writer.write(ByteBuffer(string: "data: " + String(decoding: JSON.encode(error.body), as: UTF8.self) + "\n\n"))
                timedOut = true
                break loop
            }
        }
        guard open == 0 || timedOut else { return }  // the client went away: nothing more to say
        try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
    }

    /// `logprobs`: the choice whose last delta's tokens get their log-probabilities (when it has them).
    private func send(choice: Int, text: String?, role: String?, finish: String?, logprobs: ChoiceText? = nil,
                      _ writer: inout any ResponseBodyWriter) async throws {
        let data: Data
        let tokens = logprobs.flatMap { $0.logprobs.isEmpty ? nil : ($0.logprobs, $0.lastDelta) }
        if chat {
            let delta = ChatChunk.Delta(role: role, content: role == nil && finish == nil ? text : (text?.isEmpty == false ? text : nil))
            data = JSON.encode(ChatChunk(id: id, created: created, model: model,
                                         choices: [.init(index: choice, delta: delta, finish_reason: finish,
                                                         logprobs: tokens.map { ChatLogprobs($0.0, $0.1) })]))
        } else {
            data = JSON.encode(CompletionResponse(id: id, created: created, model: model,
                                                  choices: [.init(text: text ?? "", index: choice,
                                                                  logprobs: tokens.map { CompletionLogprobs($0.0, $0.1) },
                                                                  finish_reason: finish)]))
        }
        try await writer.write(ByteBuffer(string: "data: " + String(decoding: data, as: UTF8.self) + "\n\n"))
    }
}
