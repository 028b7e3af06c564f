import Foundation
import Synchronization
import Testing
import Tessera

/// One model spec for runtime and planner: a scaled-down Llama 3 config
/// trained by `tessera train` holds exactly the parameters, in total and per
/// rank, that `tessera plan` counts for the same shape (the llama3-8b preset
/// with its sizes overridden); and Llama's bad settings are one-line errors.
@Suite struct LlamaSpecTests {
    /// Llama 3's structure at d 64: 8 heads over 2 kv heads, the 8d/3 feed-forward rounded to 256, θ 500000.
    static var config: TrainConfig {
        var c = TrainConfig()
        c.model = GPTConfig(vocab: 512, seqLen: 32, layers: 4, dModel: 64, heads: 8, dropout: 0)
        c.model.arch = .llama
        c.model.kvHeads = 2
        c.model.ropeTheta = 500_000
        c.batch = 4
        c.steps = 1
        c.warmup = 0
        c.sample = 0
        return c
    }

    /// `tessera plan --model llama3-8b --layers 4 --d-model 64 --heads 8 --kv-heads 2 --ffn 256 --vocab 512 --seq-len 32`.
    static var planned: ModelShape {
        get throws {
            var r = PlanRequest()
            r.model = "llama3-8b"
            r.layers = 4; r.dModel = 64; r.heads = 8; r.kvHeads = 2; r.ffn = 256; r.vocab = 512; r.seqLen = 32
            return try PlanInputs.shape(r)
        }
    }

    @Test func parameterCountIsThePlannersCount() throws {
        let c = Self.config.model
        #expect(c.ffnWidth == 256)  // ⌊2·4·64/3⌋ = 170, rounded up to a multiple of 256
        let layout = GPT.parameterLayout(c)
        let held = layout.reduce(0) { $0 + $1.shape.reduce(1, *) }
        let d = 64, kvWidth = 2 * 8, f = 256, V = 512
        let formula = V * d + 4 * (d + d * d + 2 * kvWidth * d + d * d + d + 3 * d * f) + d + V * d
        #expect(held == formula)
        #expect(c.parameterCount == formula)
        #expect(Int(try Self.planned.parameterCount) == formula)
        #expect(ModelShape(c).parameterCount == (try Self.planned.parameterCount))
    }

    /// With Mixtral's SwiGLU experts: the router and E experts of 3·H·d per mixture block, as the planner counts.
    @Test func expertParameterCountIsThePlannersCount() throws {
        var c = Self.config.model
        c.experts = 4; c.topK = 2; c.moeEvery = 2
        let held = GPT.parameterLayout(c).reduce(0) { $0 + $1.shape.reduce(1, *) }
        #expect(GPT.parameterLayout(c).contains { $0.name == "layers.1.block_sparse_moe.experts.3.w2.weight" })
        let dense = Self.config.model.parameterCount, d = 64, f = 256
        #expect(held == dense + 2 * (4 * d + 3 * 3 * d * f))  // 2 mixture blocks: router + 3 more experts each
        #expect(c.parameterCount == held && Int(ModelShape(c).parameterCount) == held)
    }

    /// Every rank of tp 1, 2, 4 (kv heads replicated on 2 ranks) and pp 2 × tp 2 holds the parameters and
    /// float32 weight bytes the planner's memory model gives its pipeline rank.
    @Test(arguments: [(1, 1), (2, 1), (4, 1), (2, 2)])
    func everyRankHoldsWhatThePlanSays(tp: Int, pp: Int) throws {
        var config = Self.config
        config.tp = tp
        config.pp = pp
        if pp > 1 { config.microBatches = 2 }
        let data = try TokenDataset.builtIn(seqLen: config.model.seqLen)
        let held = Mutex<[Int: Int]>([:]), run = config
        try Launcher.run(config: run, backend: .threads) { groups in
            let trainer = try Trainer(config: run, data: data, groups: groups)
            #expect(try trainer.trainStep().loss.isFinite)
            held.withLock { $0[groups.worldRank] = trainer.parameters.reduce(0) { $0 + $1.value.count } }
        }
        let shape = try Self.planned, plan = try PipelinePlan(shape, layout: config.layout)
        let setup = TrainingSetup(globalBatch: config.batch, precision: .fp32)
        for (rank, count) in held.withLock({ $0 }) {
            let stage = rank / tp  // default mesh order pp, dp, cp, tp
            let planned = MemoryModel.parameters(rank: stage, shape, layout: config.layout, pipeline: plan).all
            #expect(Double(count) == planned, "rank \(rank) of tp \(tp) pp \(pp): \(count) vs plan \(planned)")
            let bytes = MemoryModel.rank(stage, shape, layout: config.layout, setup: setup, pipeline: plan).weights
            #expect(Double(4 * count) == bytes)
        }
    }

    @Test func badLlamaSettingsAreOneLineErrors() throws {
        func message(_ edit: (inout TrainConfig) -> Void) -> String {
            var c = Self.config
            edit(&c)
            return TestSupport.message { try c.validate() }
        }
        #expect(message { $0.model.kvHeads = 3 }.contains("kv-heads 3 does not divide heads 8; valid kv-heads: 1, 2, 4, 8"))
        #expect(message { $0.tp = 3 }.contains("tp 3 does not divide heads 8; valid tp for heads 8 and kv-heads 2: 1, 2, 4, 8"))
        // tp 6 divides 12 heads but neither divides nor is divided by 4 kv heads.
        #expect(message {
            $0.model.dModel = 96; $0.model.heads = 12; $0.model.kvHeads = 4; $0.model.ffnHidden = 384; $0.tp = 6
        }.contains("tp 6 does not divide kv-heads 4; valid tp for heads 12 and kv-heads 4: 1, 2, 4, 12"))
        #expect(message { $0.model.ropeTheta = 0 }.contains("rope-theta must be a positive number, got 0"))
        #expect(message { $0.model.ffnHidden = 0 }.contains("ffn-hidden must be a positive integer, got 0"))
        #expect(message { $0.model.arch = .gpt2; $0.model.kvHeads = 2 }.contains("kv-heads 2 needs arch llama"))
        #expect(message { _ in } == "")
    }
}
