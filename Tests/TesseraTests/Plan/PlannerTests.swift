import Foundation
import Synchronization
import Testing
import Tessera

/// Issue 15: the planner against Tessera's runtime (the same memory model,
/// measured caches), its search and output, and its one-line errors.
@Suite struct PlannerTests {
    /// The planner's activations for the most loaded rank equal what the
    /// runtime's ranks hold at their peak (tiny model, tp2+sp and pp2 under 1F1B and zero-bubble H1).
    @Test func plannedActivationsEqualTheRuntimeMeasurement() throws {
        for name in ["tp2+sp", "pp2(1f1b)", "pp2(zb-h1)", "dp2xtp2"] {
            var layout = try Layout(name: name)
            if layout.pp > 1 { layout.microBatches = 4 }
            let (config, measured) = try Self.largestAfterOneStep(layout) { t in
                Double(t.pipeline?.peakActivationBytes ?? t.model.lastActivationBytes)
            }
            let estimate = MemoryEstimate(config, ranksHere: config.worldSize).perRank
            #expect(estimate.activations == measured, "\(name)")
        }
    }

    /// The tiny model (global batch 8) trained one step under `layout` on
    /// threads, and the largest `measure` over its ranks after that step.
    static func largestAfterOneStep(_ layout: Layout, model: (inout GPTConfig) -> Void = { _ in },
                                    _ measure: @escaping @Sendable (Trainer) -> Double) throws
        -> (config: TrainConfig, largest: Double) {
        let (config, values) = try afterOneStep(layout, model: model, measure)
        return (config, values.max() ?? 0)
    }

    /// The tiny model (global batch 8, its shape changed by `model`) trained
    /// one step under `layout` on threads, and `measure` of every rank after that step.
    static func afterOneStep<T: Sendable>(_ layout: Layout, model: (inout GPTConfig) -> Void = { _ in },
                                          _ measure: @escaping @Sendable (Trainer) -> T) throws
        -> (config: TrainConfig, values: [T]) {
        Compute.threads = 1
        let data = try TokenDataset.builtIn(seqLen: 16)
        var config = TrainingTests.tinyConfig(steps: 1)
        config.batch = 8
        config.layout = layout
        model(&config.model)
        try config.validate()
        let run = config, values = Mutex([T]())
        try Launcher.run(config: run, backend: .threads) { groups in
            let t = try Trainer(config: run, data: data, groups: groups)
            _ = try t.trainStep()
            let value = measure(t)
            values.withLock { $0.append(value) }
        }
        return (config, values.withLock { $0 })
    }

    /// ZeRO's full buckets in the plan (stage 3's gathered weights, stage 2-3's
    /// unreduced gradients) equal the peaks the runtime's ranks hold whole in a step.
    @Test func plannedZeROBucketsEqualWhatTheRuntimeHoldsWhole() throws {
        for zero in [1, 2, 3] {
            var layout = try Layout(name: "dp2")
            layout.zero = zero
            let (config, measured) = try Self.largestAfterOneStep(layout) { t in
                t.memoryHeld.gathered + t.memoryHeld.unreduced
            }
            let setup = TrainingSetup(globalBatch: config.batch, microBatch: 4, precision: .fp32, convention: .tessera)
            let planned = try MemoryModel.mostLoaded(ModelShape(config.model), layout: config.layout, setup: setup).memory
            if zero == 1 {
                #expect(planned.zeroBuckets == 0 && measured == 0)
            } else {
                // Within 1%: the runtime pads each bucket to a multiple of dp.
                #expect(measured > 0 && abs(planned.zeroBuckets / measured - 1) < 0.01,
                        "zero \(zero): planned \(planned.zeroBuckets), held \(measured)")
            }
        }
    }

    @Test func aLayoutIsEvaluatedWithEveryTermAndTheSimulatedBubble() throws {
        let m = try ModelPresets.named("llama2-7b")
        var layout = Layout()
        (layout.dp, layout.pp, layout.tp, layout.sp, layout.zero) = (2, 2, 2, true, 1)
        let setup = TrainingSetup(globalBatch: 64, microBatch: 1, recompute: .selective)
        let p = try LayoutPlan(m, layout: layout, setup: setup, hardware: try Hardware.preset("a100-80"))
        #expect(p.layout.microBatches == 32 && p.fits && p.memory.master > 0 && p.memory.buffers > 0)
        // 1F1B with m = 32, p = 2: idle share (p−1)/(m+p−1) for equal stages, near it here.
        #expect(abs(p.time.bubble - 1.0 / 33) < 0.02, "\(p.time.bubble)")
        #expect(p.mfu > 0.2 && p.mfu < 0.8, "\(p.mfu)")
        #expect(abs(p.tokensPerSecond * p.time.seconds - 64 * 4096) < 1e-3)
    }

    @Test func theSearchRanksFittingLayoutsAndTheWinnerBeatsTheSeedLayout() throws {
        let m = try ModelPresets.named("gpt2-124m")
        let hw = try Hardware.preset("a100-40")
        let setup = TrainingSetup(globalBatch: 64)
        let (ranked, evaluated) = LayoutSearch(shape: m, hardware: hw, gpus: 8, setup: setup).run()
        #expect(evaluated > ranked.count && !ranked.isEmpty && ranked.allSatisfy(\.fits))
        #expect(zip(ranked, ranked.dropFirst()).allSatisfy { $0.tokensPerSecond >= $1.tokensPerSecond })
        var seed = Layout()
        (seed.dp, seed.tp, seed.sp) = (2, 4, true)
        let given = try LayoutPlan(m, layout: seed, setup: setup, hardware: hw)
        #expect(ranked[0].tokensPerSecond >= given.tokensPerSecond)
    }

    @Test func planPrintsJSONWithTheIssueFields() throws {
        guard TesseraCLI.available else { return }
        let cli = TesseraCLI()
        defer { cli.cleanUp() }
        let r = try cli.run(["plan", "--model", "llama3-8b", "--gpu", "h100", "--global-batch", "256",
                             "--layout", "dp=4,tp=2,sp=true,zero=1", "--json"])
        #expect(r.status == 0, "\(r.output)")
        let doc = try JSONSerialization.jsonObject(with: Data(r.output.utf8)) as? [String: Any]
        let entry = (doc?["layouts"] as? [[String: Any]])?.first ?? [:]
        for key in ["layout", "memory_bytes", "fits", "step_seconds", "tokens_per_second", "tflops_per_device", "mfu",
                    "bubble"] {
            #expect(entry[key] != nil, "missing \(key)")
        }
        let memory = entry["memory_bytes"] as? [String: Double] ?? [:]
        #expect(Set(memory.keys) == ["weights", "gradients", "optimizer", "master", "activations", "buffers",
                                     "zero_buckets", "total"])
        #expect(memory["zero_buckets"] == 0)  // part of buffers; ZeRO-1 holds no full bucket
        let sum = ["weights", "gradients", "optimizer", "master", "activations", "buffers"].reduce(0) { $0 + memory[$1]! }
        #expect(abs(sum - memory["total"]!) <= 8)
        #expect((entry["layout"] as? [String: Any])?["zero"] as? Int == 1)
    }

    @Test func badInputGetsOneLineNamingWhatIsValid() throws {
        guard TesseraCLI.available else { return }
        let cli = TesseraCLI()
        defer { cli.cleanUp() }
        let cases: [([String], String)] = [
            (["--model", "gpt3-175b", "--gpu", "a100-80", "--gpus", "64", "--layout", "dp=4,tp=4"],
             "= 16 devices, but --gpus is 64"),
            (["--model", "llama2-7b", "--gpu", "a100-80", "--layout", "tp=3"], "valid tp for heads 32: 1, 2, 4, 8, 16, 32"),
            (["--model", "llama2-70b", "--gpu", "a100-40", "--gpus", "2"], "smallest device count that fits: "),
            (["--model", "gpt5", "--gpu", "h100", "--gpus", "8"], "valid models: gpt2-124m, gpt3-175b"),
            (["--model", "gpt2-124m", "--gpu", "tpu", "--gpus", "8"], "valid gpus: a100-40, a100-80, h100, h200"),
            (["--model", "gpt2-124m", "--gpu", "h100", "--layout", "dp=2,tpp=2"], "unknown key 'tpp'; valid keys: dp"),
        ]
        for (args, expected) in cases {
            let r = try cli.run(["plan"] + args)
            let lines = r.output.split(separator: "\n")
            #expect(r.status == 2 && lines.count == 1 && r.output.contains(expected), "\(args): \(r.output)")
        }
    }
}
