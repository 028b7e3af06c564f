import Foundation
import Synchronization
import Tessera
import TesseraServe

/// A tiny model, its greedy reference texts from `tessera generate`'s engine,
/// and an engine running on its own thread for the duration of a test.
enum ServeTestSupport {
    static let shape = GPTConfig(vocab: 256, seqLen: 64, layers: 4, dModel: 32, heads: 4, dropout: 0)

    static func weights(seed: UInt64 = 7) throws -> Checkpoint { try Checkpoint(weightsOf: GPT(shape, seed: seed)) }

    /// `tessera generate`'s greedy output for each prompt (its own contiguous cache and batch scheduler).
    static func generateGreedy(_ prompts: [[UInt8]], tokens: Int, weights: Checkpoint) throws -> [[UInt8]] {
        var plan = GenerationPlan(prompts: prompts)
        plan.tokens = tokens
        plan.sampler = TokenSampler(temperature: 0)
        return try Generation.run(plan, weights: weights, source: "test", backend: .threads)[0].texts
    }

    /// Runs `body` with an engine serving `weights` under `settings`, then stops it and waits for its ranks.
    static func withEngine<T: Sendable>(_ settings: ServingSettings = ServingSettings(), weights: Checkpoint,
                                        _ body: (ServingEngine) async throws -> T) async throws -> T {
        let engine = try ServingEngine(weights: weights, source: "test", settings: settings)
        let done = DispatchSemaphore(value: 0)
        let failure = FailureBox()
        let thread = Thread {
            do { try engine.run(backend: .threads) } catch { failure.set("\(error)") }
            done.signal()
        }
        thread.stackSize = 16 << 20
        thread.start()
        let result: Result<T, any Error>
        do { result = .success(try await body(engine)) } catch { result = .failure(error) }
        engine.stop()
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async { done.wait(); c.resume() }
        }
        if let message = failure.message { throw EngineFailed(message: message) }
        return try result.get()
    }

    struct EngineFailed: Error { var message: String }

    /// Counts tokens seen from the engine's thread and keeps the stats at the first.
    final class Recorder: @unchecked Sendable {
        private let lock = NSLock()
        private var tokens = 0, stats: ServingStats?
        func add() { lock.withLock { tokens += 1 } }
        func count() -> Int { lock.withLock { tokens } }
        func note(_ s: ServingStats) { lock.withLock { stats = s } }
        var first: ServingStats? { lock.withLock { stats } }
    }

    final class FailureBox: @unchecked Sendable {
        private let lock = NSLock()
        private var text: String?
        var message: String? { lock.withLock { text } }
        func set(_ m: String) { lock.withLock { text = m } }
    }

    /// The bytes the engine generates for `request` (all of them, once it finishes).
    static func complete(_ engine: ServingEngine, _ request: ServingRequest,
                         onToken: @escaping @Sendable () -> Void = {}) async -> [UInt8] {
        let (stream, continuation) = AsyncStream<GenerationEvent>.makeStream()
        engine.submit(request) { event in
            if case .token = event { onToken() }
            continuation.yield(event)
        }
        var out: [UInt8] = []
        for await event in stream {
            switch event {
            case .token(_, let token): out.append(UInt8(token))
            case .logprobs: break
            case .finished: return out
            }
        }
        return out
    }

    /// A greedy request for `prompt`.
    static func greedy(_ engine: ServingEngine, _ prompt: [UInt8], tokens: Int) -> ServingRequest {
        ServingRequest(id: engine.makeID(), prompt: prompt, maxTokens: tokens)
    }

    /// Mixed lengths from a fixed seed: prompts of 1...40 bytes of English-like text.
    static func mixedPrompts(_ count: Int) -> [[UInt8]] {
        let words = ["the", "cat", "sat", "on", "a", "mat", "and", "then", "ran", "far", "away", "from", "home"]
        var state: UInt64 = 0x9E3779B97F4A7C15
        func next(_ n: Int) -> Int { state = state &* 6364136223846793005 &+ 1442695040888963407; return Int(state >> 33) % n }
        return (0..<count).map { _ in
            var text = ""
            let length = 1 + next(40)
            while text.utf8.count < length { text += words[next(words.count)] + " " }
            return Array(text.utf8.prefix(length))
        }
    }
}
