import Foundation
import Hummingbird
import Synchronization
import Tessera

/// The OpenAI-compatible endpoints in front of a `ServingEngine`:
///
/// - `POST /v1/completions`, `POST /v1/chat/completions`: JSON as OpenAI's API
///   (a response, or with `"stream": true` server-sent events, one
///   `data: {chunk}` per delta, ending with `data: [DONE]`)
/// - `GET /v1/models`, `GET /health` (503 while draining), `GET /metrics` (Prometheus)
///
/// Bad requests get `{"error": {...}}` with a 4xx status and change nothing.
/// A streaming client that closes its connection has its sequences
/// cancelled at the next write (a step); any request still running after
/// `requestTimeout` seconds is cancelled too (a non-streaming one has no
/// write to notice a disconnect before its end or the timeout).
struct OpenAIRoutes: Sendable {
    let engine: ServingEngine
    let options: ServeOptions
    let metrics: ServeMetrics
    /// Set once the server drains: new generation requests get 503.
    let draining: DrainFlag

    var limits: GenerationJob.Limits {
        GenerationJob.Limits(model: options.modelName, context: min(engine.model.seqLen, engine.poolPositions),
                             maxChoices: options.maxChoices)
    }

    func add(to router: Hummingbird.Router<BasicRequestContext>) {
        router.get("/health") { _, _ in
            let draining = self.draining.isSet
            return self.json(draining ? 503 : 200, ["status": draining ? "draining" : "ok"], endpoint: "health")
        }
        router.get("/v1/models") { _, _ in
            let created = Int(Date().timeIntervalSince1970)
            return self.json(200, ModelList(data: [.init(id: self.options.modelName, created: created,
                                                         max_model_len: self.limits.context)]), endpoint: "models")
        }
        router.get("/metrics") { _, _ in
            self.metrics.answered("metrics", status: 200)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: .init(byteBuffer: ByteBuffer(string: self.metrics.exposition(self.engine.stats))))
        }
        router.post("/v1/completions") { request, _ in await self.completions(request) }
        router.post("/v1/chat/completions") { request, _ in await self.chat(request) }
    }

    // MARK: - Endpoints

    func completions(_ request: Request) async -> Response {
        await answering("completions") {
            let arrival = ContinuousClock.now
            let body: CompletionRequest = try await decode(request)
            var job = try GenerationJob.make(body.fields, prompts: body.prompt.values.map { Array($0.utf8) },
                                             promptParam: "prompt", limits: limits, defaultMaxTokens: { _ in 16 })
            job.logprobs = try LogprobsFormat.completionRequest(body.logprobs)
            return try await respond(job, request, arrival: arrival, chat: false)
        }
    }

    func chat(_ request: Request) async -> Response {
        await answering("chat") {
            let arrival = ContinuousClock.now
            let body: ChatRequest = try await decode(request)
            guard !body.messages.isEmpty else { throw APIError(400, "messages must hold at least one message", param: "messages") }
            let prompt = Array(options.chatTemplate.render(body.messages).utf8)
            var job = try GenerationJob.make(body.fields, prompts: [prompt], promptParam: "messages", limits: limits,
                                             defaultMaxTokens: { limits.context - $0 })
            job.logprobs = try LogprobsFormat.chatRequest(body.logprobs, top: body.top_logprobs)
            return try await respond(job, request, arrival: arrival, chat: true)
        }
    }

    // MARK: - Generation

    private func respond(_ job: GenerationJob, _ request: Request, arrival: ContinuousClock.Instant, chat: Bool) async throws -> Response {
        guard !draining.isSet else {
            throw APIError(503, "the server is shutting down and takes no new requests", type: "server_error")
        }
        metrics.promptTokens.increment(by: Int64(job.promptTokens))
        let session = EngineSession(engine: engine, requests: job.sequences(engine.makeID), timeout: options.requestTimeout,
                                    metrics: metrics, arrival: arrival)
        let id = (chat ? "chatcmpl-" : "cmpl-") + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let created = Int(Date().timeIntervalSince1970), model = options.modelName
        var choices = job.prompts.indices.flatMap { p in
            Array(repeating: ChoiceText(stop: job.stop, maxTokens: job.maxTokens[p]), count: job.n)
        }
        if job.stream {
            let stream = SSEStream(id: id, created: created, model: model, chat: chat)
            return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                            body: ResponseBody { [choices] writer in
                // A client that went away fails the next write (its channel is closed), which ends the
                // session and cancels its sequences: within a step of the disconnect.
                var choices = choices
                defer { session.close() }
                try await stream.run(session, choices: &choices, writer: &writer)
                try await writer.finish(nil)
            })
        }
        defer { session.close() }
        var open = choices.count
        loop: for await event in session.events {
            switch event {
            case .token(let c, let byte): choices[c].append(byte)
            case .logprobs(let c, let lp): choices[c].append(lp)
            case .finished(let c):
                choices[c].finish()
                open -= 1
                if open == 0 { break loop }
            case .timedOut:
                throw APIError(408, "the request did not finish within the server's request timeout of "
                               + "\(options.requestTimeout) s; ask for fewer max_tokens", type: "timeout_error")
            }
        }
        let out = choices.reduce(0) { $0 + $1.tokens }
        let usage = Usage(prompt_tokens: job.promptTokens, completion_tokens: out, total_tokens: job.promptTokens + out)
        if chat {
            return json(200, ChatResponse(id: id, created: created, model: model, choices: choices.enumerated().map {
                .init(index: $0, message: ChatMessage(role: "assistant", content: $1.text),
                      logprobs: job.logprobs == nil ? nil : ChatLogprobs($1.logprobs, 0..<$1.visibleTokens), finish_reason: $1.finishReason)
            }, usage: usage), endpoint: nil)
        }
        return json(200, CompletionResponse(id: id, created: created, model: model, choices: choices.enumerated().map {
            .init(text: $1.text, index: $0,
                  logprobs: job.logprobs == nil ? nil : CompletionLogprobs($1.logprobs, 0..<$1.visibleTokens), finish_reason: $1.finishReason)
        }, usage: usage), endpoint: nil)
    }

    // MARK: - Bodies and errors

    /// The body as `T`: over `maxBodyBytes` is 413, anything but a JSON object of the right fields is 400.
    private func decode<T: Decodable>(_ request: Request) async throws -> T {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > options.maxBodyBytes {
            throw tooLarge()
        }
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: options.maxBodyBytes) } catch {
            if (error as? any HTTPResponseError)?.status == .contentTooLarge { throw tooLarge() }
            throw APIError(400, "could not read the request body: \(error)")
        }
        let data = Data(buffer.readableBytesView)
        guard (try? JSONSerialization.jsonObject(with: data)) is [String: Any] else {
            throw APIError(400, "We could not parse the JSON body of your request: expected a JSON object "
                           + "(send 'Content-Type: application/json' with a valid JSON body)")
        }
        do { return try JSONDecoder().decode(T.self, from: data) } catch let DecodingError.keyNotFound(key, _) {
            throw APIError(400, "'\(key.stringValue)' is a required property", param: key.stringValue)
        } catch let DecodingError.typeMismatch(type, context), let DecodingError.valueNotFound(type, context) {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw APIError(400, "'\(path)' has the wrong type: expected \(type) (\(context.debugDescription))", param: path)
        } catch {
            throw APIError(400, "invalid request body: \(error)")
        }
    }

    private func tooLarge() -> APIError {
        APIError(413, "the request body is larger than the server's limit of \(options.maxBodyBytes) bytes")
    }

    /// Runs `body`, answering its `APIError` (or any other error, as 500) as OpenAI does, and counts the answer.
    private func answering(_ endpoint: String, _ body: () async throws -> Response) async -> Response {
        do {
            let response = try await body()
            metrics.answered(endpoint, status: response.status.code)
            return response
        } catch let error as APIError {
            return json(error.status, error.body, endpoint: endpoint)
        } catch {
            return json(500, APIError(500, "internal error: \(error)").body, endpoint: endpoint)
        }
    }

    private func json<T: Encodable>(_ status: Int, _ value: T, endpoint: String?) -> Response {
        if let endpoint { metrics.answered(endpoint, status: status) }
        return Response(status: .init(code: status), headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: JSON.encode(value))))
    }
}

/// Whether the server is draining (set once, read by every handler).
final class DrainFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}
