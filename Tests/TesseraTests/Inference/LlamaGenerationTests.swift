import Foundation
import Testing
import Tessera

/// KV-cached generation of a Llama (grouped-query cache, rotary positions at
/// the cached position) against the uncached forward, one rank and under
/// tensor (split and replicated kv heads) and pipeline layouts.
@Suite struct LlamaGenerationTests {
    static var shape: GPTConfig {
        var c = GPTConfig(vocab: 256, seqLen: 48, layers: 4, dModel: 32, heads: 4, dropout: 0)
        c.arch = .llama
        c.kvHeads = 2
        c.ffnHidden = 64
        return c
    }
    static let prompts: [[UInt8]] = ["The cat", "A", "Once upon a time, "].map { Array($0.utf8) }

    @Test(arguments: [(1, 1, 512), (1, 1, 4), (2, 1, 512), (4, 1, 512), (1, 2, 512), (2, 2, 4)])
    func greedyEqualsTheUncachedArgmax(tp: Int, pp: Int, stepTokens: Int) throws {
        let model = GPT(Self.shape, seed: 11)
        let weights = try Checkpoint(weightsOf: model)
        let tokens = 10
        var plan = GenerationPlan(prompts: Self.prompts)
        plan.tokens = tokens
        plan.batch = 2
        plan.sampler = TokenSampler(temperature: 0)
        plan.tp = tp
        plan.pp = pp
        plan.stepTokens = stepTokens
        let outputs = try Generation.run(plan, weights: weights, source: "test", backend: .threads, recordLogits: true)
        let out = outputs.first { !$0.logits.allSatisfy(\.isEmpty) } ?? outputs[0]
        for (r, prompt) in Self.prompts.enumerated() {
            #expect(out.texts[r].count == tokens)
            var text = prompt
            for (i, token) in out.texts[r].enumerated() {
                let ctx = ForwardContext(samples: 1, positions: text.count, sampleOffset: 0, step: 0, seed: 0, dropout: 0)
                let full = try model.logits(text.map(Int32.init), ctx)
                let last = Array(UnsafeBufferPointer(start: full.data + (text.count - 1) * 256, count: 256))
                let argmax = last.indices.max { last[$0] < last[$1] }!
                #expect(Int(token) == argmax, "request \(r) token \(i)")
                #expect(TestSupport.relativeError(out.logits[r][i], last) < 1e-5, "request \(r) token \(i) logits")
                text.append(token)
            }
        }
    }

    /// A rank caches its kv heads only: kv-heads / tp of them, or one replicated head when tp exceeds kv-heads.
    @Test(arguments: [(1, 2), (2, 1), (4, 1)])
    func cacheHoldsTheRanksKVHeads(tp: Int, kvHeadsHere: Int) throws {
        let weights = try Checkpoint(weightsOf: GPT(Self.shape, seed: 11))
        var plan = GenerationPlan(prompts: [Self.prompts[0]])
        plan.tokens = 2
        plan.tp = tp
        let m = Self.shape
        for out in try Generation.run(plan, weights: weights, source: "test", backend: .threads) {
            #expect(out.cacheBytesPerToken == 2 * m.layers * kvHeadsHere * m.headDim * 4)
        }
        #expect(plan.cacheBytesPerToken(m) == 2 * m.layers * kvHeadsHere * tp * m.headDim * 4)
    }
}
