import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import Logging
import ServiceLifecycle
import Testing
import Tessera
import TesseraServe

/// The HTTP layer in-process: the server's application on a free loopback
/// port over a real engine, driven with Foundation's URLSession (Hummingbird's
/// own test client would add TLS, HTTP/2 and an HTTP client package to every build).
@Suite struct ServeHTTPTests {
    static let prompt = "Once upon a time, "

    /// A client of the server at `port`: (status, body) of each request.
    struct Client: Sendable {
        let port: Int

        func execute(uri: String, method: String, body: String? = nil) async throws -> (Int, String) {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(uri)")!)
            request.httpMethod = method
            request.timeoutInterval = 60
            if let body {
                request.httpBody = Data(body.utf8)
                request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            }
            let (data, response) = try await URLSession.shared.data(for: request)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
        }

        func get(_ uri: String) async throws -> (Int, String) { try await execute(uri: uri, method: "GET") }
    }

    static func run(_ options: ServeOptions = ServeOptions(), settings: ServingSettings = ServingSettings(),
                    _ test: @escaping @Sendable (Client, Checkpoint) async throws -> Void) async throws {
        let weights = try ServeTestSupport.weights()
        var options = options
        options.port = 0
        options.modelName = "tiny"
        try await ServeTestSupport.withEngine(settings, weights: weights) { engine in
            let (ports, listening) = AsyncStream<Int>.makeStream()
            let app = TesseraServer.application(engine: engine, options: options) { listening.yield($0) }
            let group = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "serve-tests")))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                var next = ports.makeAsyncIterator()
                let port = try #require(await next.next())
                do { try await test(Client(port: port), weights) } catch {
                    await group.triggerGracefulShutdown()
                    throw error
                }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
    }

    static func post(_ client: Client, _ uri: String, _ json: String) async throws -> (Int, String) {
        try await client.execute(uri: uri, method: "POST", body: json)
    }

    static func object(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    @Test func completionsChatAndStreamingGiveTheGreedyText() async throws {
        try await Self.run { client, weights in
            let expected = String(decoding: try ServeTestSupport.generateGreedy([Array(Self.prompt.utf8)], tokens: 20,
                                                                                 weights: weights)[0], as: UTF8.self)
            let (status, body) = try await Self.post(client, "/v1/completions",
                                                     #"{"model": "tiny", "prompt": "Once upon a time, ", "max_tokens": 20, "temperature": 0, "unknown_field": 1}"#)
            #expect(status == 200)
            let response = Self.object(body)
            let choice = (response["choices"] as? [[String: Any]])?.first
            #expect(response["object"] as? String == "text_completion")
            #expect(choice?["text"] as? String == expected)
            #expect(choice?["finish_reason"] as? String == "length")
            let usage = response["usage"] as? [String: Int]
            #expect(usage?["prompt_tokens"] == Self.prompt.utf8.count && usage?["completion_tokens"] == 20)

            // The same as a stream: chunks add up to the text, the last names the reason, then [DONE].
            let (s2, stream) = try await Self.post(client, "/v1/completions",
                                                   #"{"prompt": "Once upon a time, ", "max_tokens": 20, "temperature": 0, "stream": true}"#)
            #expect(s2 == 200)
            let events = stream.components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(events.last == "data: [DONE]")
            let chunks = events.dropLast().map { Self.object(String($0.dropFirst("data: ".count))) }
            let texts = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first?["text"] as? String }
            #expect(texts.joined() == expected && chunks.count > 2)
            #expect((chunks.last?["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String == "length")

            // Chat through the default template.
            let (s3, chat) = try await Self.post(client, "/v1/chat/completions",
                                                 #"{"model": "tiny", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 8, "temperature": 0}"#)
            #expect(s3 == 200)
            let rendered = Array("User: Hi\nAssistant:".utf8)
            let chatExpected = String(decoding: try ServeTestSupport.generateGreedy([rendered], tokens: 8, weights: weights)[0], as: UTF8.self)
            let message = ((Self.object(chat)["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])
            #expect(message?["role"] as? String == "assistant" && message?["content"] as? String == chatExpected)

            // Two prompts, two choices each: four choices in prompt-major order.
            let (s4, many) = try await Self.post(client, "/v1/completions",
                                                 #"{"prompt": ["Once upon a time, ", "A"], "n": 2, "max_tokens": 5, "temperature": 0}"#)
            let choices = (Self.object(many)["choices"] as? [[String: Any]]) ?? []
            #expect(s4 == 200 && choices.map { $0["index"] as? Int } == [0, 1, 2, 3])
            #expect(choices.first?["text"] as? String == String(expected.utf8.prefix(5))!)
        }
    }

    @Test func aStopSequenceEndsTheChoiceAndIsNotReturned() async throws {
        try await Self.run { client, weights in
            let free = try ServeTestSupport.generateGreedy([Array(Self.prompt.utf8)], tokens: 20, weights: weights)[0]
            let stop = String(decoding: free[4..<6], as: UTF8.self)
            let body = #"{"prompt": "Once upon a time, ", "max_tokens": 20, "temperature": 0, "stop": [STOP]}"#
                .replacingOccurrences(of: "STOP", with: String(decoding: try JSONEncoder().encode(stop), as: UTF8.self))
            let (status, text) = try await Self.post(client, "/v1/completions", body)
            let choice = (Self.object(text)["choices"] as? [[String: Any]])?.first
            let got = choice?["text"] as? String ?? "?"
            #expect(status == 200 && choice?["finish_reason"] as? String == "stop")
            #expect(Array(got.utf8).count <= 4 && free.starts(with: Array(got.utf8)) && !got.contains(stop))
        }
    }

    @Test func badRequestsGetOpenAIErrorsAndTheServerKeepsServing() async throws {
        var options = ServeOptions()
        options.maxBodyBytes = 2048
        options.maxChoices = 4
        try await Self.run(options) { client, _ in
            func error(_ json: String, _ uri: String = "/v1/completions") async throws -> (Int, String?, String?) {
                let (status, body) = try await Self.post(client, uri, json)
                let e = Self.object(body)["error"] as? [String: Any]
                return (status, e?["param"] as? String, e?["message"] as? String)
            }
            var (s, param, message) = try await error(#"{"prompt": "hi", "#)
            #expect(s == 400 && message?.contains("could not parse the JSON") == true)
            (s, _, message) = try await error(#"{"prompt": ""# + String(repeating: "a", count: 4000) + #""}"#)
            #expect(s == 413 && message?.contains("limit of 2048 bytes") == true)
            (s, param, _) = try await error(#"{"model": "gpt-4", "prompt": "hi"}"#)
            #expect(s == 404 && param == "model")
            (s, param, _) = try await error(#"{"prompt": "hi", "max_tokens": -3}"#)
            #expect(s == 400 && param == "max_tokens")
            (s, param, message) = try await error(#"{"prompt": "hi", "max_tokens": 1000000}"#)
            #expect(s == 400 && param == "max_tokens" && message?.contains("maximum context length is 64") == true)
            (s, param, _) = try await error(#"{"prompt": ""# + String(repeating: "a", count: 80) + #"", "max_tokens": 1}"#)
            #expect(s == 400 && param == "prompt")
            (s, param, _) = try await error(#"{"prompt": "hi", "temperature": -0.5}"#)
            #expect(s == 400 && param == "temperature")
            (s, param, _) = try await error(#"{"prompt": "hi", "n": 5}"#)
            #expect(s == 400 && param == "n")
            (s, param, _) = try await error(#"{"max_tokens": 3}"#)
            #expect(s == 400 && param == "prompt")
            (s, param, _) = try await error(#"{"messages": "hello"}"#, "/v1/chat/completions")
            #expect(s == 400 && param == "messages")
            let (ok, _) = try await Self.post(client, "/v1/completions", #"{"prompt": "hi", "max_tokens": 2}"#)
            #expect(ok == 200)
        }
    }

    /// A request still running at the server's timeout is cancelled: 408 (an error event when streaming),
    /// and its sequences leave the engine. 16 choices of 40 bytes take far more than the 1 ms allowed.
    @Test func aRequestPastTheTimeoutIsCancelled() async throws {
        var options = ServeOptions()
        options.requestTimeout = 0.001
        try await Self.run(options) { client, _ in
            let (status, body) = try await Self.post(client, "/v1/completions", #"{"prompt": "Hello", "n": 16, "max_tokens": 40}"#)
            #expect(status == 408 && body.contains("request timeout"))
            let (s2, stream) = try await Self.post(client, "/v1/completions",
                                                   #"{"prompt": "Hello", "n": 16, "max_tokens": 40, "stream": true}"#)
            let timedOut = stream.contains(#""type":"timeout_error""#), done = stream.hasSuffix("data: [DONE]\n\n")
            #expect(s2 == 200 && timedOut && done)
            var metrics = ""
            for _ in 0..<500 {
                metrics = try await client.get("/metrics").1
                if metrics.contains("tessera_running_sequences 0") && metrics.contains("tessera_kv_blocks_used 0") { break }
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(metrics.contains("tessera_running_sequences 0") && metrics.contains("tessera_kv_blocks_used 0"))
            let line = metrics.split(separator: "\n").first { $0.hasPrefix("tessera_generation_tokens_total ") } ?? ""
            let generated = Double(line.split(separator: " ").last ?? "") ?? -1
            #expect(generated >= 0 && generated < 2 * 16 * 40, "cancelled early: \(generated) bytes")
        }
    }

    @Test func modelsHealthAndMetrics() async throws {
        try await Self.run { client, _ in
            let models = Self.object(try await client.get("/v1/models").1)
            let first = (models["data"] as? [[String: Any]])?.first
            #expect(first?["id"] as? String == "tiny" && first?["max_model_len"] as? Int == 64)
            let health = try await client.get("/health").0
            #expect(health == 200)
            _ = try await Self.post(client, "/v1/completions", #"{"prompt": "Hello", "max_tokens": 6, "temperature": 0}"#)
            // The engine's gauges are published after each round: the one that ended the request may still be finishing.
            var metrics = ""
            for _ in 0..<500 {
                metrics = try await client.get("/metrics").1
                if metrics.contains("tessera_running_sequences 0") { break }
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(metrics.contains("tessera_generation_tokens_total 6"))
            #expect(metrics.contains("tessera_prompt_tokens_total 5"))
            #expect(metrics.contains(#"tessera_requests_total{endpoint="completions",status="200"} 1"#))
            #expect(metrics.contains(#"tessera_requests_total{endpoint="metrics",status="200"}"#))
            #expect(metrics.contains("tessera_time_to_first_token_seconds_count 1"))
            #expect(metrics.contains("tessera_inter_token_latency_seconds_count 5"))
            #expect(metrics.contains("tessera_kv_blocks_used 0") && metrics.contains("tessera_running_sequences 0"))
        }
    }
}
