import Foundation
import Testing
import Tessera
import TesseraServe

/// Log-probabilities against a hand log-softmax of the model's logits
/// (`tessera generate`'s engine records them), alone and across tp2 / pp2
/// (where the last stage sends them to rank 0); prefix caching against no
/// caching (the same greedy bytes) and a second identical prompt hitting.
@Suite struct LogprobsAndPrefixTests {
    static let prompt = Array("Once upon a time, there was a cat".utf8)

    /// Every event of `request`: its tokens and the log-probabilities that came before each.
    static func collect(_ engine: ServingEngine, _ request: ServingRequest) async -> ([Int32], [TokenLogprobs]) {
        let (stream, continuation) = AsyncStream<GenerationEvent>.makeStream()
        engine.submit(request) { continuation.yield($0) }
        var tokens: [Int32] = [], logprobs: [TokenLogprobs] = []
        for await event in stream {
            switch event {
            case .token(_, let t): tokens.append(t)
            case .logprobs(_, let lp): logprobs.append(lp)
            case .finished: return (tokens, logprobs)
            }
        }
        return (tokens, logprobs)
    }

    @Test(arguments: [(1, 1), (2, 2)])
    func logprobsAreTheLogSoftmaxOfTheLogits(tp: Int, pp: Int) async throws {
        let weights = try ServeTestSupport.weights()
        var plan = GenerationPlan(prompts: [Self.prompt])
        plan.tokens = 12
        plan.sampler = TokenSampler(temperature: 0)
        let reference = try Generation.run(plan, weights: weights, source: "test", backend: .threads, recordLogits: true)[0]
        var settings = ServingSettings()
        settings.tp = tp; settings.pp = pp
        let (tokens, logprobs) = try await ServeTestSupport.withEngine(settings, weights: weights) { engine in
            await Self.collect(engine, ServingRequest(id: engine.makeID(), prompt: Self.prompt, maxTokens: 12, logprobs: 5))
        }
        #expect(tokens == reference.tokens[0])
        #expect(logprobs.count == tokens.count, "one log-probability per token")
        for (i, (lp, row)) in zip(logprobs, reference.logits[0]).enumerated() {
            // By hand: log p(j) = z_j − log Σ_k exp z_k, in Double.
            let lse = Foundation.log(row.reduce(0.0) { $0 + Foundation.exp(Double($1)) })
            let expected = row.map { Double($0) - lse }
            #expect(lp.sampled.token == tokens[i])
            #expect(abs(Double(lp.sampled.logprob) - expected[Int(tokens[i])]) < 1e-4, "token \(i)")
            let order = expected.indices.sorted { expected[$0] > expected[$1] }
            #expect(lp.top.map { Int($0.token) } == Array(order.prefix(5)), "token \(i): the five most likely ids")
            for e in lp.top { #expect(abs(Double(e.logprob) - expected[Int(e.token)]) < 1e-4) }
            #expect(lp.top[0].token == tokens[i], "greedy picks the most likely id")
        }
    }

    @Test func aSequenceWithoutLogprobsGetsNone() async throws {
        let weights = try ServeTestSupport.weights()
        let (tokens, logprobs) = try await ServeTestSupport.withEngine(weights: weights) { engine in
            await Self.collect(engine, ServeTestSupport.greedy(engine, Self.prompt, tokens: 6))
        }
        #expect(tokens.count == 6 && logprobs.isEmpty)
    }

    /// The same prompt twice: the second shares the first's full blocks (33 bytes in blocks of 4:
    /// 8 full blocks before the last position) and both give the bytes of an engine without caching.
    @Test(arguments: [1, 2])
    func aSecondIdenticalPromptHitsAndGivesTheSameText(pp: Int) async throws {
        let weights = try ServeTestSupport.weights()
        var settings = ServingSettings()
        settings.blockSize = 4; settings.pp = pp
        settings.prefixCaching = false
        let uncached = try await ServeTestSupport.withEngine(settings, weights: weights) { engine in
            let text = await ServeTestSupport.complete(engine, ServeTestSupport.greedy(engine, Self.prompt, tokens: 20))
            #expect(engine.stats.prefixQueriedBlocks == 0 && engine.stats.prefixHitBlocks == 0)
            return text
        }
        settings.prefixCaching = true
        let (first, second, stats) = try await ServeTestSupport.withEngine(settings, weights: weights) { engine in
            let first = await ServeTestSupport.complete(engine, ServeTestSupport.greedy(engine, Self.prompt, tokens: 20))
            let before = engine.stats
            #expect(before.prefixHitBlocks == 0 && before.prefixQueriedBlocks == 8, "\(before)")
            let second = await ServeTestSupport.complete(engine, ServeTestSupport.greedy(engine, Self.prompt, tokens: 20))
            // A prompt that shares only the first 3 blocks (12 bytes) hits those.
            let other = Array(Self.prompt.prefix(12)) + Array("XYZ and a dog".utf8)
            _ = await ServeTestSupport.complete(engine, ServeTestSupport.greedy(engine, other, tokens: 4))
            let deadline = Date().addingTimeInterval(5)
            while engine.stats.blocksUsed > 0 && Date() < deadline { try await Task.sleep(for: .milliseconds(2)) }
            return (first, second, engine.stats)
        }
        #expect(first == uncached && second == uncached, "cached and uncached greedy bytes agree")
        #expect(stats.prefixHitBlocks == 8 + 3, "\(stats)")
        #expect(stats.prefixQueriedBlocks == 8 + 8 + 6, "\(stats)")
        #expect(stats.blocksUsed == 0, "shared blocks are released by every holder")
    }
}
