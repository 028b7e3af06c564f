import Foundation
import Synchronization
import Testing
import Tessera

/// KV-cached generation against the full-recompute sampler, across batch
/// compositions, and under tensor and pipeline layouts.
@Suite struct GenerationTests {
    static let shape = GPTConfig(vocab: 256, seqLen: 48, layers: 4, dModel: 32, heads: 4, dropout: 0)
    static let prompts: [[UInt8]] = ["The cat", "A", "Once upon a time, ", "xyz", "Hello there"].map { Array($0.utf8) }

    static func weights(_ config: GPTConfig = shape, seed: UInt64 = 7) throws -> Checkpoint {
        try Checkpoint(weightsOf: GPT(config, seed: seed))
    }

    static func generate(_ plan: GenerationPlan, _ weights: Checkpoint, logits: Bool = false) throws -> GenerationOutput {
        let outputs = try Generation.run(plan, weights: weights, source: "test", backend: .threads, recordLogits: logits)
        // The last stage's first rank holds the logits; every rank holds the texts.
        return outputs.first { !$0.logits.allSatisfy(\.isEmpty) } ?? outputs[0]
    }

    static func greedy(_ prompts: [[UInt8]], tokens: Int, batch: Int = 8) -> GenerationPlan {
        var plan = GenerationPlan(prompts: prompts)
        plan.tokens = tokens
        plan.batch = batch
        plan.sampler = TokenSampler(temperature: 0)
        return plan
    }

    /// With whole prompts in one step (512) and with prompts prefilled in
    /// chunks of at most 5 rows a step beside the decoding sequences.
    @Test(arguments: [512, 5])
    func greedyEqualsFullRecomputeTokenForToken(stepTokens: Int) throws {
        let model = GPT(Self.shape, seed: 7)
        let weights = try Checkpoint(weightsOf: model)
        let tokens = 30
        var plan = Self.greedy(Self.prompts, tokens: tokens, batch: 3)
        plan.stepTokens = stepTokens
        let out = try Self.generate(plan, weights, logits: true)
        for (r, prompt) in Self.prompts.enumerated() {
            // Today's sampler re-runs the whole prefix per token; top-k 1 is greedy.
            let reference = try Sampler(model: model, temperature: 1, topK: 1).generate(prompt: prompt, count: tokens)
            #expect(out.texts[r] == reference, "request \(r)")
            // The cached logits of every step equal the full recompute's last row.
            var text = prompt
            for (i, row) in out.logits[r].enumerated() {
                let ctx = ForwardContext(samples: 1, positions: text.count, sampleOffset: 0, step: 0, seed: 0, dropout: 0)
                let full = try model.logits(text.map(Int32.init), ctx)
                let last = Array(UnsafeBufferPointer(start: full.data + (text.count - 1) * 256, count: 256))
                #expect(TestSupport.relativeError(row, last) < 1e-5, "request \(r) token \(i)")
                text.append(out.texts[r][i])
            }
        }
    }

    @Test func sampledTextDoesNotDependOnBatchComposition() throws {
        let weights = try Self.weights()
        func run(batch: Int) throws -> [[UInt8]] {
            var plan = GenerationPlan(prompts: Self.prompts)
            plan.tokens = 20
            plan.batch = batch
            plan.sampler = TokenSampler(temperature: 0.9, topK: 30, topP: 0.95, seed: 3)
            return try Self.generate(plan, weights).texts
        }
        let one = try run(batch: 1)
        #expect(try run(batch: 2) == one)
        #expect(try run(batch: 5) == one)
        // The first two requests without the others give the same texts as inside the batch.
        var fewer = GenerationPlan(prompts: Array(Self.prompts.prefix(2)))
        fewer.tokens = 20
        fewer.sampler = TokenSampler(temperature: 0.9, topK: 30, topP: 0.95, seed: 3)
        #expect(try Self.generate(fewer, weights).texts == Array(one.prefix(2)))
        #expect(Set(one).count > 1, "different prompts give different texts")
    }

    /// Some layouts with chunked prefill (6 rows a step), where pipeline
    /// steps that sample nothing send no tokens back.
    @Test(arguments: [(2, 1, 512), (4, 1, 512), (1, 2, 6), (1, 4, 512), (2, 2, 6)])
    func greedyUnderLayoutEqualsOneRank(tp: Int, pp: Int, stepTokens: Int) throws {
        let weights = try Self.weights()
        var plan = Self.greedy(Self.prompts, tokens: 12, batch: 4)
        plan.stepTokens = stepTokens
        let reference = try Self.generate(plan, weights, logits: true)
        plan.tp = tp
        plan.pp = pp
        let out = try Self.generate(plan, weights, logits: true)
        #expect(out.texts == reference.texts)
        for r in Self.prompts.indices {
            #expect(out.logits[r].count == reference.logits[r].count)
            for (a, b) in zip(out.logits[r], reference.logits[r]) { #expect(TestSupport.relativeError(a, b) < 1e-5) }
        }
    }

    @Test func stopStringEndsARequest() throws {
        let weights = try Self.weights()
        let free = try Self.generate(Self.greedy([Self.prompts[0]], tokens: 20), weights).texts[0]
        var plan = Self.greedy([Self.prompts[0]], tokens: 20)
        plan.stop = Array(free[3..<5])
        let stopped = try Self.generate(plan, weights).texts[0]
        #expect(stopped.count <= 5 && stopped.count >= 2 && Array(free.prefix(stopped.count)) == stopped)
        #expect(Array(stopped.suffix(2)) == plan.stop)
    }

    @Test func aSequencePastTheContextKeepsGoing() throws {
        let weights = try Self.weights()
        let out = try Self.generate(Self.greedy([Array(repeating: UInt8(ascii: "a"), count: 40)], tokens: 30), weights)
        #expect(out.texts[0].count == 30)
    }

    @Test func badPlansAreOneLineErrors() throws {
        let m = Self.shape
        func message(_ edit: (inout GenerationPlan) -> Void) -> String {
            var plan = GenerationPlan(prompts: [Array("hi".utf8)])
            edit(&plan)
            return TestSupport.message { try plan.validate(model: m) }
        }
        #expect(message { $0.prompts = [Array(repeating: 65, count: 49)] }.contains("at most 48 bytes fit"))
        #expect(message { $0.prompts = [[]] }.contains("empty"))
        #expect(message { $0.prompts = [] }.contains("no prompt"))
        #expect(message { $0.tokens = 0 }.contains("--tokens must be in 1...1048576, got 0"))
        #expect(message { $0.sampler.temperature = -1 }.contains("--temperature must be 0 (greedy) or a positive"))
        #expect(message { $0.sampler.topK = -2 }.contains("--top-k must be 0"))
        #expect(message { $0.sampler.topP = 0 }.contains("--top-p must be in (0, 1]"))
        #expect(message { $0.sampler.topP = 1.5 }.contains("--top-p must be in (0, 1]"))
        #expect(message { $0.tp = 3 }.contains("tp 3 does not divide heads 4; valid tp for heads 4: 1, 2, 4"))
        #expect(message { $0.pp = 5 }.contains("= 5 stages need at least 5 layers, the model has 4"))
        #expect(message { $0.stepTokens = 0 }.contains("--step-tokens must be in 1...1048576, got 0"))
        #expect(message { _ in } == "")
    }

    @Test func cacheBytesPerRankFollowTheFormula() throws {
        let weights = try Self.weights()
        var plan = Self.greedy([Self.prompts[0]], tokens: 4)
        plan.tp = 2
        plan.pp = 2
        let outputs = try Generation.run(plan, weights: weights, source: "test", backend: .threads)
        let m = Self.shape, capacity = plan.capacity(m)
        for out in outputs {
            // 2 · (layers of the stage: 2) · (heads/tp) · head dim · 4 bytes per token.
            #expect(out.cacheBytesPerToken == 2 * 2 * (m.heads / 2) * m.headDim * 4)
            #expect(out.cacheBytes == out.cacheBytesPerToken * capacity * plan.slots)
        }
    }

    /// A tensor-parallel decode step communicates twice per block (attention
    /// proj's and the MLP out's all-reduce), once for the vocab-parallel
    /// embedding and once to gather the sampled rows' logits.
    @Test func aTensorParallelDecodeStepReducesTwicePerBlock() throws {
        let counts = Mutex([[String: CountingGroup.Tally]]())
        try ThreadWorld.run(size: 2) { world in
            let tp = TensorParallel(group: world, sequenceParallel: false)
            let stage = InferenceStage(model: GPT(Self.shape, seed: 7, tp: tp), slots: 2, capacity: 16)
            var prefill = DecodeBatch()
            prefill.append(slot: 0, start: 0, tokens: [65, 66, 67])
            prefill.append(slot: 1, start: 0, tokens: [68])
            _ = try stage.logits(stage.blocks(stage.embed(prefill), prefill))
            tp.group.reset()
            var decode = DecodeBatch()
            decode.append(slot: 0, start: 3, tokens: [69])
            decode.append(slot: 1, start: 1, tokens: [70])
            let logits = try stage.logits(stage.blocks(stage.embed(decode), decode))
            #expect(logits.shape == [2, 256])
            counts.withLock { $0.append(tp.group.tallies) }
        }
        for tallies in counts.withLock({ $0 }) {
            #expect(tallies["allReduce"]?.calls == 2 * Self.shape.layers + 1)
            #expect(tallies["allReduce"]?.elements == (2 * Self.shape.layers + 1) * 2 * Self.shape.dModel)
            #expect(tallies["allGather"]?.calls == 1 && tallies["allGather"]?.elements == 2 * 256)  // 2 rows × both vocabulary shards
            #expect(Set(tallies.keys) == ["allReduce", "allGather"])
        }
    }
}
