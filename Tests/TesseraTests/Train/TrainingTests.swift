import Foundation
import Testing
import Tessera

@Suite struct TrainingTests {
    static func tinyConfig(steps: Int = 6, dropout: Float = 0) -> TrainConfig {
        var c = TrainConfig()
        c.model = GPTConfig(vocab: 256, seqLen: 16, layers: 2, dModel: 32, heads: 4, dropout: dropout)
        c.batch = 4
        c.steps = steps
        c.warmup = 2
        c.evalBatches = 1
        c.evalEvery = 0
        return c
    }

    @Test func lossFallsOnTheBuiltInCorpus() throws {
        Compute.threads = 1
        var c = Self.tinyConfig(steps: 60)
        c.lr = 3e-3
        let trainer = try Trainer(config: c, data: try TokenDataset.builtIn(seqLen: 16))
        let before = try trainer.evaluate()
        let results = try trainer.run(log: { _ in })
        let after = try trainer.evaluate()
        #expect(abs(before - Foundation.log(256.0)) < 0.1, "untrained loss \(before) should be near ln 256")
        #expect(after < before - 1.5, "validation loss \(before) → \(after)")
        #expect(results.count == 60)
    }

    @Test func gradientAccumulationEqualsOneLargeBatch() throws {
        Compute.threads = 1
        var one = Self.tinyConfig(steps: 3, dropout: 0.1)
        var four = one
        one.microBatches = 1
        four.microBatches = 4
        let data = try TokenDataset.builtIn(seqLen: 16)
        let a = try Trainer(config: one, data: data), b = try Trainer(config: four, data: data)
        for _ in 0..<3 {
            let ra = try a.trainStep(), rb = try b.trainStep()
            #expect(abs(ra.loss - rb.loss) / ra.loss < 1e-6)
        }
        for (p, q) in zip(a.model.parameters, b.model.parameters) {
            let err = TestSupport.relativeError(q.value.array, p.value.array)
            #expect(err < 1e-4, "\(p.name): \(err)")
        }
    }

    @Test func sameSeedSameRunAndDropoutChangesTheLoss() throws {
        Compute.threads = 1
        let data = try TokenDataset.builtIn(seqLen: 16)
        let a = try Trainer(config: Self.tinyConfig(dropout: 0.2), data: data)
        let b = try Trainer(config: Self.tinyConfig(dropout: 0.2), data: data)
        let c = try Trainer(config: Self.tinyConfig(dropout: 0), data: data)
        let la = try a.trainStep().loss, lb = try b.trainStep().loss, lc = try c.trainStep().loss
        #expect(la == lb)
        #expect(la != lc)
    }

    @Test func learningRateWarmsUpThenDecaysByCosine() {
        let s = LRSchedule(peak: 1, warmup: 10, total: 110, minRatio: 0.1)
        #expect(s.rate(at: 0) == 0.1)
        #expect(s.rate(at: 9) == 1)
        #expect(abs(s.rate(at: 60) - 0.55) < 1e-6)  // halfway: min + (1 − min)/2
        #expect(abs(s.rate(at: 110) - 0.1) < 1e-6)
    }

    @Test func clippingScalesToTheLimitAndLeavesSmallNormsAlone() throws {
        let p = Parameter(name: "w", shape: [2, 2], rule: .zeros)
        let store = ParameterStore(parameters: [p], bucketBytes: 1 << 20)
        for (i, g) in [Float(3), 0, 0, 4].enumerated() { p.grad[i] = g }
        let one = RankGroups.single()
        let norm = try GradientNorm.squared(store, shards: one.zeroGroups, model: one.model).squareRoot()
        #expect(norm == 5)
        GradientClipping.clip(store, norm: norm, maxNorm: 1)
        #expect(abs(p.grad[0] - 0.6) < 1e-6 && abs(p.grad[3] - 0.8) < 1e-6)
        GradientClipping.clip(store, norm: 1, maxNorm: 2)
        #expect(abs(p.grad[0] - 0.6) < 1e-6)
    }

    @Test func samplingIsDeterministicAndTopOneIsGreedy() throws {
        Compute.threads = 1
        let model = GPT(Self.tinyConfig().model, seed: 5)
        let a = try Sampler(model: model, temperature: 1, topK: 5, seed: 1).generate(prompt: Array("ab".utf8), count: 12)
        let b = try Sampler(model: model, temperature: 1, topK: 5, seed: 1).generate(prompt: Array("ab".utf8), count: 12)
        #expect(a == b && a.count == 12)
        let greedy = try Sampler(model: model, temperature: 1, topK: 1, seed: 9).generate(prompt: Array("ab".utf8), count: 1)
        let ctx = ForwardContext(samples: 1, positions: 2, sampleOffset: 0, step: 0, seed: 0, dropout: 0)
        let logits = try model.logits([97, 98], ctx).array
        let best = (0..<256).max { logits[256 + $0] < logits[256 + $1] }!
        #expect(Int(greedy[0]) == best)
    }

    @Test func builtInCorpusIsDeterministicText() {
        let a = BuiltInCorpus.generate(bytes: 5000), b = BuiltInCorpus.generate(bytes: 5000)
        #expect(a == b && a.count == 5000)
        let text = String(decoding: a, as: UTF8.self)
        #expect(text.contains(". ") && text.contains("\n\n"))
        #expect(a.allSatisfy { $0 == 10 || ($0 >= 32 && $0 < 127) })
    }

    @Test func dataSlicesOfTheGlobalBatchAreTheSerialBatch() throws {
        let data = try TokenDataset.builtIn(seqLen: 16)
        let full = data.batch(step: 7, samples: 0..<8, seqLen: 16, seed: 3)
        let second = data.batch(step: 7, samples: 4..<8, seqLen: 16, seed: 3)
        #expect(Array(full.tokens[64...]) == second.tokens)
        #expect(Array(full.targets[1..<16]) == Array(full.tokens[2..<17]) || full.targets[0] == full.tokens[1])
    }
}
