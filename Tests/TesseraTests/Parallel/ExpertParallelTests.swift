import Foundation
import Synchronization
import Testing
import Tessera

/// Expert parallelism: the all-to-alls deliver every row to its expert and
/// back, layouts train like one rank with dropping active, the routing
/// figures and router gradients are the one-rank run's, expert gradients
/// are summed over the expert-data-parallel group, and checkpoints move
/// between layouts.
@Suite struct ExpertParallelTests {
    /// verify's model with 4 experts, top-2, capacity 1.0 (dropping active) and dropout on.
    static func moe(dp: Int = 1, ep: Int = 1, tp: Int = 1, sp: Bool = false, pp: Int = 1, micro: Int = 1,
                    capacity: Float = 1, zero: Int = 0, cp: Int = 1, cpMode: ContextParallelMode = .ring) -> TrainConfig {
        var c = Equivalence.defaultConfig
        c.model.experts = 4; c.model.topK = 2; c.model.capacityFactor = capacity
        c.dp = dp; c.layout.ep = ep; c.tp = tp; c.sp = sp; c.pp = pp; c.microBatches = micro; c.layout.zero = zero
        c.layout.cp = cp; c.layout.cpMode = cpMode
        if pp > 1 { c.model.layers = 4 }
        return c
    }

    @Test func exchangeDeliversEveryRowToItsExpertAndBack() throws {
        let E = 4, d = 3
        try ThreadWorld.run(size: 2) { world in
            let ep = ExpertParallel(group: world), r = world.rank
            // Rank r sends r + e + 1 rows to expert e, each row holding (source, expert, index).
            let counts = (0..<E).map { r + $0 + 1 }
            var rows: [Float] = []
            for e in 0..<E { for i in 0..<counts[e] { rows += [Float(r), Float(e), Float(i)] } }
            let x = Tensor([rows.count / d, d], rows)
            let exchange = try TokenExchange(counts: counts, ep: ep)
            let arrived = try exchange.dispatch(x)
            var expected: [Float] = []
            for e in ep.localExperts(E) {
                for q in 0..<2 { for i in 0..<(q + e + 1) { expected += [Float(q), Float(e), Float(i)] } }
            }
            #expect(arrived.array == expected, "rank \(r)")
            #expect(exchange.expertRows == ep.localExperts(E).map { 2 * $0 + 3 })
            #expect(try exchange.combine(arrived).array == rows, "rank \(r)")
        }
    }

    @Test(arguments: [
        moe(dp: 2, ep: 2), moe(dp: 4, ep: 4), moe(dp: 4, ep: 2), moe(dp: 2, ep: 2, tp: 2, sp: true),
        moe(dp: 2, ep: 2, pp: 2, micro: 2), moe(dp: 2, ep: 2, capacity: 0), moe(dp: 2, micro: 2),
        // ZeRO shards expert buckets over the expert-data-parallel group, dense ones over dp.
        moe(dp: 4, ep: 2, zero: 1), moe(dp: 4, ep: 2, zero: 2), moe(dp: 4, ep: 2, zero: 3), moe(dp: 2, ep: 2, zero: 2),
        // Context parallelism: every cp rank routes and drops over the whole sample's gathered logits.
        moe(cp: 2), moe(cp: 2, cpMode: .ulysses), moe(dp: 2, ep: 2, cp: 2), moe(dp: 2, ep: 2, cp: 2, cpMode: .ulysses),
        // ep groups spanning context-parallel positions (ep divides dp·cp, not dp).
        moe(ep: 2, cp: 2), moe(dp: 2, ep: 4, cp: 2, cpMode: .ulysses),
    ])
    func layoutMatchesOneRank(_ config: TrainConfig) throws {
        Compute.threads = 1
        let data = try TokenDataset.builtIn(seqLen: config.model.seqLen)
        let report = try #require(try Equivalence.run(config: config, data: data, backend: .threads))
        #expect(report.passed, "\(report.lines.joined(separator: "\n"))")
        #expect(report.serialLosses.last! < report.serialLosses.first! - 1)
    }

    /// One step of `config` on threads: rank 0's step result and router gradient, and what each rank's
    /// expert-data-parallel and dp groups all-reduced against its expert and dense buckets.
    static func oneStep(_ config: TrainConfig) throws -> (StepResult, [Float], [Bool]) {
        let data = try TokenDataset.builtIn(seqLen: config.model.seqLen)
        let out = Mutex<(StepResult, [Float])?>(nil), rightGroups = Mutex<[Bool]>([])
        try Launcher.run(config: config, backend: .threads) { groups in
            let trainer = try Trainer(config: config, data: data, groups: groups)
            groups.resetCounts()
            let r = try trainer.trainStep()
            let router = trainer.parameters.first { $0.name == "h.1.mlp.router.weight" }!
            if groups.worldRank == 0 { out.withLock { $0 = (r, router.grad.array) } }
            guard groups.world.size > 1 else { return }
            let expert = trainer.store.buckets.filter { $0.parameters.allSatisfy(\.placement.isExpert) }
            let dense = trainer.store.buckets.filter { $0.parameters.allSatisfy { !$0.placement.isExpert } }
            let sum = { (bs: [ParameterBucket]) in bs.reduce(0) { $0 + $1.count } }
            // Expert gradients over expert-dp (dp·cp / ep ranks), dense ones over dp·cp (plus the step's loss, one element).
            let expertGroup = groups.expertData.tallies["allReduce"]?.elements ?? 0
            let denseGroup = groups.dpcp.tallies["allReduce"]?.elements ?? 0
            let ok = expert.count + dense.count == trainer.store.buckets.count
                && groups.expertData.size == config.dp * config.layout.cp / config.layout.ep
                && (groups.expertData.size == 1 ? expertGroup == 0 : expertGroup == sum(expert))
                && denseGroup == sum(dense) + 1
            rightGroups.withLock { $0.append(ok) }
        }
        let (r, g) = out.withLock { $0! }
        return (r, g, rightGroups.withLock { $0 })
    }

    @Test func routingFiguresAndRouterGradientsEqualAcrossLayoutsAndExpertsSumOverTheirGroup() throws {
        Compute.threads = 1
        var serial = Self.moe()
        serial.gradClip = 0
        let (one, oneGrad, _) = try Self.oneStep(serial)
        for (dp, ep, cp) in [(2, 2, 1), (4, 2, 1), (2, 2, 2), (1, 2, 2)] {
            var c = Self.moe(dp: dp, ep: ep, cp: cp)
            c.gradClip = 0
            let (r, grad, groupsOK) = try Self.oneStep(c)
            let a = try #require(one.experts), b = try #require(r.experts)
            #expect(a.droppedFraction > 0 && a.droppedFraction == b.droppedFraction)
            #expect(a.routed.map(\.counts) == b.routed.map(\.counts))
            #expect(abs(a.loadBalancingLoss - b.loadBalancingLoss) <= 1e-6 * a.loadBalancingLoss)
            #expect(abs(a.zLoss - b.zLoss) <= 1e-5 * a.zLoss)
            #expect(Equivalence.relativeDifference(grad, oneGrad) < 1e-5, "dp\(dp)×cp\(cp)×ep\(ep)")
            #expect(groupsOK.count == dp * cp && groupsOK.allSatisfy { $0 }, "dp\(dp)×cp\(cp)×ep\(ep): \(groupsOK)")
        }
    }

    @Test func aCheckpointResumesUnderAnotherExpertLayoutAndGenerates() throws {
        Compute.threads = 1
        var base = Self.moe(capacity: 0)
        base.steps = 6
        base.evalBatches = 1
        let data = try TokenDataset.builtIn(seqLen: base.model.seqLen)
        let straight = try Trainer(config: base, data: data)
        let losses = try (0..<6).map { _ in try straight.trainStep().loss }

        // Three steps on dp4×ep2 at ZeRO-3 (experts sharded over their pairs), saved; the rest on one rank.
        var splitConfig = base
        splitConfig.dp = 4; splitConfig.layout.ep = 2; splitConfig.layout.zero = 3
        let dir = TestSupport.temporaryPath("moe-ckpt")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try TestSupport.trainAndSave(splitConfig, data: data, steps: 3, to: dir)
        let ckpt = try Checkpoint.load(from: dir)
        let resumed = try Trainer(config: base, data: data, resume: (ckpt, dir))
        let rest = try (0..<3).map { _ in try resumed.trainStep().loss }
        for (a, b) in zip(rest, losses[3...]) { #expect(abs(a - b) <= 1e-5 * b) }

        // And from one rank onto dp4×ep4.
        try resumed.checkpoint().save(to: dir)
        var wideConfig = base
        wideConfig.dp = 4; wideConfig.layout.ep = 4; wideConfig.steps = 7
        let wide = wideConfig
        let again = try Checkpoint.load(from: dir)
        let next = Mutex<Double>(0)
        try Launcher.run(config: wide, backend: .threads) { groups in
            let t = try Trainer(config: wide, data: data, resume: (again, dir), groups: groups)
            let l = try t.trainStep().loss
            if groups.worldRank == 0 { next.withLock { $0 = l } }
        }
        var serial7 = base
        serial7.steps = 7
        let reference = try Trainer(config: serial7, data: data, resume: (again, dir)).trainStep().loss
        #expect(abs(next.withLock { $0 } - reference) <= 1e-5 * reference)

        // Generation reads the checkpoint: greedy decoding equals a full recompute of the one-rank model.
        let weights = try ModelWeights.load(dir)
        var plan = GenerationPlan(prompts: [Array("The ".utf8)])
        plan.tokens = 8
        plan.sampler = TokenSampler(temperature: 0)
        let out = try Generation.run(plan, weights: weights, source: dir, backend: .threads, recordLogits: false)
        let reference8 = try Sampler(model: resumed.model, temperature: 1, topK: 1).generate(prompt: Array("The ".utf8), count: 8)
        #expect(out[0].texts[0] == reference8)
    }

    @Test func badExpertSettingsAreOneLineErrorsBeforeAnyRankStarts() {
        func message(_ edit: (inout TrainConfig) -> Void) -> String {
            var c = Self.moe()
            edit(&c)
            return TestSupport.message { try c.validate() }
        }
        #expect(message { $0.model.topK = 5 } == "top-k 5 exceeds experts 4; valid top-k: 1...4")
        #expect(message { $0.dp = 6; $0.batch = 12; $0.model.experts = 6; $0.layout.ep = 4 }
                    == "experts 6 are not divisible by ep 4; valid ep with dp 6: 1, 2, 3, 6")
        #expect(message { $0.dp = 4; $0.model.experts = 6; $0.layout.ep = 4 }
                    == "experts 6 are not divisible by ep 4; valid ep with dp 4: 1, 2")
        #expect(message { $0.dp = 3; $0.batch = 6; $0.layout.ep = 2 }.hasPrefix("ep 2 must divide dp × cp = 3"))
        #expect(message { $0.model.experts = 0; $0.model.capacityFactor = 0; $0.layout.ep = 2; $0.dp = 2 }
                    .hasPrefix("ep 2 needs a mixture of experts"))
        #expect(message { $0.dp = 2; $0.layout.cp = 2; $0.layout.ep = 8; $0.model.experts = 8 }
                    .hasPrefix("ep 8 must divide dp × cp = 4"))
        for (key, value) in [("capacity-factor", -1.0), ("aux-loss-coeff", -0.5), ("z-loss-coeff", -1e-3)] {
            var c = TrainConfig()
            let m = TestSupport.message { try c.set(key, .float(value), source: "test") }
            #expect(m.hasPrefix("test: \(key) must be") && !m.contains("\n"), "\(key): \(m)")
        }
    }
}
