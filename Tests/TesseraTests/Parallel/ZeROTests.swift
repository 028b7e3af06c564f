import Foundation
import Synchronization
import Testing
import Tessera

/// ZeRO changes where numbers live, not what they are: every stage trains
/// like one rank (`tessera verify`'s harness, dropout on), like plain data
/// parallelism bit for bit on the thread backend, holds 1/N of what it
/// shards, and checkpoints whole tensors that resume under any other layout.
@Suite struct ZeROTests {
    static func zero(_ stage: Int, dp: Int, tp: Int = 1, sp: Bool = false, pp: Int = 1, micro: Int = 1,
                     steps: Int = 20) -> TrainConfig {
        var c = pp > 1 ? EquivalenceTests.pipeline(pp: pp, micro: micro, dp: dp, tp: tp, sp: sp)
                       : EquivalenceTests.layout(dp: dp, tp: tp, sp: sp, micro: micro)
        c.layout.zero = stage
        c.steps = steps
        return c
    }

    /// dp3 on a model whose parameter count 3 does not divide (every bucket is padded to 48-element multiples).
    static var dp3: TrainConfig {
        var c = zero(3, dp: 3)
        c.batch = 6
        c.model.vocab = 257
        return c
    }

    static func bf16(_ c: TrainConfig) -> TrainConfig { var c = c; c.precision = .bf16; return c }

    @Test(arguments: [
        zero(1, dp: 2), zero(2, dp: 2), zero(3, dp: 2), zero(1, dp: 4), zero(3, dp: 4),
        zero(3, dp: 2, tp: 2, sp: true), zero(1, dp: 2, pp: 2, micro: 4), zero(2, dp: 2, pp: 2, micro: 2),
        zero(3, dp: 2, micro: 2), dp3, bf16(zero(3, dp: 2)),
    ])
    func stageTrainsLikeOneRank(_ config: TrainConfig) throws {
        Compute.threads = 1
        if config.dp == 3 { #expect(config.model.parameterCount % 3 != 0) }
        let data = try TokenDataset.builtIn(seqLen: config.model.seqLen)
        let report = try #require(try Equivalence.run(config: config, data: data, backend: .threads))
        #expect(report.passed, "\(report.lines.joined(separator: "\n"))")
        #expect(report.serialLosses.last! < report.serialLosses.first! - 1)
    }

    /// Losses and whole final parameters of `config` on threads.
    static func train(_ config: TrainConfig) throws -> (losses: [Double], params: [String: [Float]]) {
        let data = try TokenDataset.builtIn(seqLen: config.model.seqLen)
        let out = Mutex<(losses: [Double], params: [String: [Float]])?>(nil)
        try Launcher.run(config: config, backend: .threads) { groups in
            let trainer = try Trainer(config: config, data: data, groups: groups)
            let losses = try (0..<config.steps).map { _ in try trainer.trainStep().loss }
            let whole = try trainer.wholeParameters()
            if groups.worldRank == 0 { out.withLock { $0 = (losses, whole) } }
        }
        return try #require(out.withLock { $0 })
    }

    /// On the thread backend a reduce-scatter sums each element in the same
    /// rank order as the all-reduce, and AdamW is elementwise, so ZeRO is
    /// plain DP bit for bit. The one sum whose order follows the bucket
    /// layout is the clipping norm's (per bucket and shard): stages 0 and 1
    /// share buckets (capped by size), stages 2 and 3 share buckets (one per
    /// block), so those pairs agree bitwise with clipping on and all four
    /// agree bitwise with clipping off.
    @Test func zeroIsPlainDataParallelismBitForBit() throws {
        Compute.threads = 1
        for clip: Float in [1, 0] {
            let runs = try (0...3).map { stage in
                var c = Self.zero(stage, dp: 2, steps: 6)
                c.gradClip = clip
                return try Self.train(c)
            }
            let pairs = clip > 0 ? [(0, 1), (2, 3)] : [(0, 1), (0, 2), (0, 3)]
            for (a, b) in pairs {
                #expect(runs[a].losses == runs[b].losses, "clip \(clip): zero \(a) vs \(b) losses")
                #expect(runs[a].params == runs[b].params, "clip \(clip): zero \(a) vs \(b) parameters")
            }
        }
    }

    /// Each rank keeps 1/N of what its stage shards: moments from stage 1,
    /// gradients from stage 2 (outside backward), values at stage 3.
    @Test func eachRankHoldsItsShardOfWhatTheStageShards() throws {
        Compute.threads = 1
        for stage in 0...3 {
            let config = Self.zero(stage, dp: 4, steps: 1)
            let data = try TokenDataset.builtIn(seqLen: config.model.seqLen)
            let held = Mutex<[(values: Int, grads: Int, moments: Int, full: Int, idle: Bool)]>([])
            try Launcher.run(config: config, backend: .threads) { groups in
                let trainer = try Trainer(config: config, data: data, groups: groups)
                _ = try trainer.trainStep()
                let buckets = trainer.store.buckets
                let values = buckets.reduce(0) { $0 + ($1.hasValues ? $1.count : $1.owned.count) }
                let grads = buckets.reduce(0) { $0 + ($1.hasGradients ? $1.count : 0) + ($1.gradShard?.count ?? 0) }
                held.withLock {
                    $0.append((values, grads, trainer.optimizer.bytes / 8, trainer.store.bytesPerCopy / 4,
                               trainer.residencies.allSatisfy(\.isIdle)))
                }
            }
            for h in held.withLock({ $0 }) {
                #expect(h.moments == (stage >= 1 ? h.full / 4 : h.full), "stage \(stage) moments")
                #expect(h.grads == (stage >= 2 ? h.full / 4 : h.full), "stage \(stage) gradients")
                #expect(h.values == (stage == 3 ? h.full / 4 : h.full), "stage \(stage) values")
                #expect(h.idle, "stage \(stage): a unit is still gathered after the step")
            }
        }
    }

    /// A checkpoint holds whole tensors: saved by dp2 at ZeRO-3 after 3 steps,
    /// it resumes under one rank, dp2 at ZeRO-1, tp2 and dp2×pp2 at ZeRO-2,
    /// and each continuation matches the uninterrupted one-rank run.
    @Test func checkpointsReshardAcrossStagesAndLayouts() throws {
        Compute.threads = 1
        var base = Self.zero(0, dp: 1, steps: 6)
        base.model.layers = 4
        let data = try TokenDataset.builtIn(seqLen: base.model.seqLen)
        let straight = try Self.train(base)
        let dir = TestSupport.temporaryPath("zero-ckpt")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var saver = base
        saver.dp = 2; saver.layout.zero = 3
        try TestSupport.trainAndSave(saver, data: data, steps: 3, to: dir)
        let ckpt = try Checkpoint.load(from: dir)
        for (dp, tp, pp, stage) in [(1, 1, 1, 0), (2, 1, 1, 1), (1, 2, 1, 0), (2, 1, 2, 2)] {
            var c = base
            c.dp = dp; c.tp = tp; c.pp = pp; c.layout.zero = stage
            if pp > 1 { c.microBatches = 2 }
            let r = try TestSupport.resumeThreeSteps(c, data: data, from: ckpt, dir: dir)
            let name = c.layoutName
            for (a, b) in zip(r.losses, straight.losses[3...]) { #expect(abs(a - b) / b < 1e-5, "\(name) loss \(a) vs \(b)") }
            for (k, v) in straight.params {
                #expect(Equivalence.normDifference(r.params[k]!, v) < 1e-4, "\(name) \(k)")
            }
        }
    }
}

/// What each rank holds matches the formulas, and the launch-time budget check reads the same formulas.
@Suite struct ZeROMemoryTests {
    /// Measured model states (buffers held after a step) within 5% of 16Ψ, 8Ψ + 8Ψ/N, 4Ψ + 12Ψ/N and
    /// 16Ψ/N + gathered units, at N = 2 and 4; the launch-time estimate's model states equal the formula's.
    @Test func measuredMemoryMatchesTheFormulas() throws {
        Compute.threads = 1
        for n in [2, 4] {
            for stage in 0...3 {
                var c = Equivalence.defaultConfig
                c.dp = n; c.layout.zero = stage; c.steps = 1
                let row = try ZeROMemoryBenchmark.measure(c)
                #expect(abs(row.ratio - 1) < 0.05, "N \(n) zero \(stage): measured/formula \(row.ratio)")
                let estimate = MemoryEstimate(c, ranksHere: n).perRank
                #expect(abs(estimate.modelStates / row.formula.modelStates - 1) < 1e-9, "N \(n) zero \(stage) estimate")
            }
        }
        // The stages really differ: at N = 4 each holds less than the one before.
        let held = try (0...3).map { stage in
            var c = Equivalence.defaultConfig
            c.dp = 4; c.steps = 1; c.layout.zero = stage
            c.model.layers = 4  // with 2 blocks, stage 3 gathers nearly the whole model at once
            return try ZeROMemoryBenchmark.measure(c).measured.modelStates
        }
        #expect(zip(held, held.dropFirst()).allSatisfy { $1 < $0 }, "\(held)")
    }

    @Test func aBudgetRefusesBeforeAnyRankStartsNamingTheLargestTermAndWhatFits() throws {
        var c = Equivalence.defaultConfig
        c.model.layers = 8; c.model.dModel = 256; c.batch = 16
        let alone = MemoryEstimate(c, ranksHere: 1).perRank.total
        var sharded = c
        sharded.dp = 2; sharded.layout.zero = 3
        let dp2zero3 = MemoryEstimate(sharded, ranksHere: 2).perRank.total
        #expect(dp2zero3 < alone)
        c.memoryBudget = Float((alone + dp2zero3) / 2 / 1_073_741_824)
        let message = TestSupport.message { try Launcher.run(config: c, backend: .threads) { _ in Issue.record("a rank started") } }
        #expect(message.contains("over the memory budget") && message.contains("largest term: ")
                && message.contains("layouts that fit: ") && message.contains("dp2+zero3"), "\(message)")
        c.memoryBudget = 1e-6
        let none = TestSupport.message { try Launcher.run(config: c, backend: .threads) { _ in Issue.record("a rank started") } }
        #expect(none.contains("no layout fits"), "\(none)")
    }
}
