import Foundation
import Synchronization
import Testing
import Tessera
import TesseraServe

/// The serving engine (continuous batching over a paged KV cache) against
/// `tessera generate`'s engine: greedy text is the same alone, among 64
/// concurrent requests of mixed lengths, with a pool small enough to
/// preempt, and under tp2 / pp2 on thread ranks.
@Suite struct ServingEngineTests {
    static let prompts: [[UInt8]] = ["The cat", "A", "Once upon a time, ", "xyz", "Hello there"].map { Array($0.utf8) }

    @Test func greedyAloneEqualsGenerate() async throws {
        let weights = try ServeTestSupport.weights()
        let reference = try ServeTestSupport.generateGreedy(Self.prompts, tokens: 24, weights: weights)
        try await ServeTestSupport.withEngine(weights: weights) { engine in
            for (p, prompt) in Self.prompts.enumerated() {
                let out = await ServeTestSupport.complete(engine, ServeTestSupport.greedy(engine, prompt, tokens: 24))
                #expect(out == reference[p], "prompt \(p)")
            }
        }
    }

    /// 64 requests at once (prompts 1...40 bytes, 8...20 bytes out), 16 sequences
    /// running at most, 7-row steps (prompts prefilled in chunks beside decode), and
    /// a pool of 40 blocks of 4 positions, far less than 16 full sequences need, so
    /// sequences are preempted and recomputed: each text equals its request alone.
    @Test(arguments: [(1, 1), (2, 1), (1, 2)])
    func sixtyFourConcurrentRequestsMatchAlone(tp: Int, pp: Int) async throws {
        let weights = try ServeTestSupport.weights()
        let prompts = ServeTestSupport.mixedPrompts(64)
        let lengths = prompts.indices.map { 8 + ($0 * 7) % 13 }
        let alone = try await ServeTestSupport.withEngine(weights: weights) { engine in
            var texts: [[UInt8]] = []
            for (p, prompt) in prompts.enumerated() {
                texts.append(await ServeTestSupport.complete(engine, ServeTestSupport.greedy(engine, prompt, tokens: lengths[p])))
            }
            return texts
        }
        var settings = ServingSettings()
        settings.slots = 16; settings.stepTokens = 7; settings.blockSize = 4; settings.blocks = 40
        settings.tp = tp; settings.pp = pp
        let (together, stats) = try await ServeTestSupport.withEngine(settings, weights: weights) { engine in
            let texts = await withTaskGroup(of: (Int, [UInt8]).self) { group in
                for (p, prompt) in prompts.enumerated() {
                    let request = ServeTestSupport.greedy(engine, prompt, tokens: lengths[p])
                    group.addTask { (p, await ServeTestSupport.complete(engine, request)) }
                }
                var texts = [[UInt8]](repeating: [], count: prompts.count)
                for await (p, text) in group { texts[p] = text }
                return texts
            }
            // The stats are published after each round: the one that accepted the last token may still be ending.
            let deadline = Date().addingTimeInterval(5)
            while engine.stats.running + engine.stats.blocksUsed > 0 && Date() < deadline { try await Task.sleep(for: .milliseconds(2)) }
            return (texts, engine.stats)
        }
        for p in prompts.indices { #expect(together[p] == alone[p], "request \(p) (prompt \(prompts[p].count) bytes)") }
        #expect(stats.blocksUsed == 0 && stats.running == 0 && stats.waiting == 0, "everything returned: \(stats)")
        #expect(stats.preemptions > 0, "the small pool preempted some sequence: \(stats)")
    }

    /// A seeded sampled request draws the same text alone and beside others (draws keyed by seed, choice and position).
    @Test func seededSamplingIsReproducible() async throws {
        let weights = try ServeTestSupport.weights()
        try await ServeTestSupport.withEngine(weights: weights) { engine in
            func sampled(_ stream: Int) -> ServingRequest {
                ServingRequest(id: engine.makeID(), prompt: Self.prompts[2], maxTokens: 20, temperature: 0.9, topK: 30,
                               topP: 0.95, seed: 42, stream: stream)
            }
            let alone = await ServeTestSupport.complete(engine, sampled(0))
            async let other = ServeTestSupport.complete(engine, sampled(1))
            async let again = ServeTestSupport.complete(engine, sampled(0))
            async let noise = ServeTestSupport.complete(engine, ServeTestSupport.greedy(engine, Self.prompts[0], tokens: 30))
            let (o, a, _) = await (other, again, noise)
            #expect(a == alone)
            #expect(o != alone, "another choice draws another text")
        }
    }

    /// A cancelled sequence leaves the batch and its blocks go back to the pool
    /// within a round or two. The cancel is sent from the first token's
    /// callback (on the engine's thread), so the sequence cannot finish first.
    @Test func cancellingFreesTheBlocks() async throws {
        let weights = try ServeTestSupport.weights()
        var settings = ServingSettings()
        settings.blockSize = 4
        try await ServeTestSupport.withEngine(settings, weights: weights) { engine in
            let request = ServeTestSupport.greedy(engine, Self.prompts[2], tokens: 40)
            let seen = ServeTestSupport.Recorder()
            engine.submit(request) { event in
                guard case .token = event else { return }
                if seen.count() == 0 { seen.note(engine.stats); engine.cancel(request.id) }
                seen.add()
            }
            let deadline = Date().addingTimeInterval(10)
            while (seen.count() == 0 || engine.stats.blocksUsed > 0) && Date() < deadline { try await Task.sleep(for: .milliseconds(2)) }
            let before = try #require(seen.first)
            #expect(before.running == 1 && before.blocksUsed == 5, "18 prompt bytes in blocks of 4: \(before)")
            #expect(engine.stats.blocksUsed == 0 && engine.stats.running == 0)
            #expect(seen.count() < 40, "cancelled before its end: \(seen.count()) tokens")
        }
    }

    @Test func badSettingsAreOneLineErrors() throws {
        let weights = try ServeTestSupport.weights()
        func message(_ edit: (inout ServingSettings) -> Void) -> String {
            var s = ServingSettings()
            edit(&s)
            do { _ = try ServingEngine(weights: weights, source: "test", settings: s); return "" } catch { return "\(error)" }
        }
        #expect(message { $0.slots = 0 }.contains("--max-seqs must be in 1...4096, got 0"))
        #expect(message { $0.blockSize = 0 }.contains("--block-size must be in 1...4096, got 0"))
        #expect(message { $0.blocks = 0 }.contains("--kv-blocks must be at least 1, got 0"))
        // The layout is checked by Topology.validate, as for train and generate.
        #expect(message { $0.tp = 3 }.contains("tp 3 does not divide heads 4; valid tp for heads 4: 1, 2, 4"))
        #expect(message { $0.pp = 5 }.contains("= 5 stages need at least 5 layers, the model has 4"))
        #expect(message { _ in } == "")
    }
}
