import Foundation
import Synchronization
import Testing
import Tessera

/// ZeRO composed with context parallelism (sharded over dp × cp, as FSDP
/// shards over dp_shard × cp) and ZeRO-3 with a pipeline (whole chunks
/// gathered around the schedule's actions): each trains like one rank
/// (`tessera verify`'s harness, dropout on), holds its shard of what the
/// stage shards, checkpoints whole tensors that resume under other layouts,
/// and the launch-time memory estimate counts the same shards.
@Suite struct ZeROCompositionTests {
    static func zero(_ stage: Int, dp: Int = 1, cp: Int = 1, cpMode: ContextParallelMode = .ring, pp: Int = 1,
                     schedule: PipelineScheduleKind = .oneFOneB, chunks: Int = 1, micro: Int = 1) -> TrainConfig {
        var c = pp > 1 ? EquivalenceTests.pipeline(pp: pp, schedule: schedule, chunks: chunks, micro: micro, dp: dp)
                       : EquivalenceTests.layout(dp: dp, micro: micro)
        c.layout.cp = cp; c.layout.cpMode = cpMode; c.layout.zero = stage
        return c
    }

    @Test(arguments: [
        // Sharded over dp × cp: 4 ranks, ring and Ulysses attention; over cp alone at dp 1.
        zero(1, dp: 2, cp: 2), zero(2, dp: 2, cp: 2, cpMode: .ulysses), zero(3, dp: 2, cp: 2),
        zero(3, dp: 2, cp: 2, cpMode: .ulysses), zero(3, cp: 2),
        // ZeRO-3 under a pipeline: one chunk per rank (1F1B, zero-bubble's split W) and two (interleaved).
        zero(3, dp: 2, pp: 2, micro: 2), zero(3, dp: 2, pp: 2, schedule: .zeroBubbleH1, micro: 2),
        zero(3, dp: 2, pp: 2, schedule: .interleaved, chunks: 2, micro: 2),
    ])
    func trainsLikeOneRank(_ config: TrainConfig) throws {
        Compute.threads = 1
        #expect(throws: Never.self) { try config.validate() }
        let data = try TokenDataset.builtIn(seqLen: config.model.seqLen)
        let report = try #require(try Equivalence.run(config: config, data: data, backend: .threads))
        #expect(report.passed, "\(report.lines.joined(separator: "\n"))")
        #expect(report.serialLosses.last! < report.serialLosses.first! - 1)
    }

    /// What one rank holds after a step of `config` on threads, its estimate, and each rank's state.
    static func held(_ config: TrainConfig) throws -> (measured: MemoryBreakdown, estimate: MemoryBreakdown,
                                                       ranks: [(values: Int, moments: Int, full: Int, idle: Bool, gathers: Int)]) {
        let data = try TokenDataset.builtIn(seqLen: config.model.seqLen)
        let out = Mutex<(MemoryBreakdown?, [(values: Int, moments: Int, full: Int, idle: Bool, gathers: Int)])>((nil, []))
        try Launcher.run(config: config, backend: .threads) { groups in
            let trainer = try Trainer(config: config, data: data, groups: groups)
            _ = try trainer.trainStep()
            trainer.stageResidency?.resetCounts()
            _ = try trainer.trainStep()
            let b = trainer.store.buckets
            let values = b.reduce(0) { $0 + ($1.hasValues ? $1.count : $1.owned.count) }
            let idle = trainer.residencies.allSatisfy(\.isIdle) && (trainer.stageResidency?.isIdle ?? true)
            let row = (values, trainer.optimizer.bytes / 8, trainer.store.bytesPerCopy / 4, idle,
                       trainer.stageResidency?.gathers ?? -1)
            out.withLock { s in
                s.1.append(row)
                if groups.worldRank == 0 { s.0 = trainer.memoryHeld }
            }
        }
        let (measured, ranks) = out.withLock { $0 }
        return (try #require(measured), MemoryEstimate(config, ranksHere: config.worldSize).perRank, ranks)
    }

    /// Sharded over dp × cp = 4 ranks, each holds a quarter of the moments and (stage 3) of the values; the
    /// estimate's model states are within 10% of what rank 0 holds (it counts both embeddings on every rank).
    @Test func contextParallelRanksShareTheShards() throws {
        Compute.threads = 1
        let h = try Self.held(Self.zero(3, dp: 2, cp: 2))
        for r in h.ranks {
            #expect(r.moments == r.full / 4 && r.values == r.full / 4 && r.idle, "\(r)")
        }
        #expect(abs(h.estimate.modelStates / h.measured.modelStates - 1) < 0.1,
                "estimate \(h.estimate.line) vs measured \(h.measured.line)")
    }

    /// Under a pipeline a chunk is gathered once per run of consecutive actions on it: once per step with one
    /// chunk per rank (1F1B, zero-bubble), at each switch between chunks under the interleaved schedule; after
    /// the step only the shards are held.
    @Test func pipelineGathersWholeChunksAroundTheSchedule() throws {
        Compute.threads = 1
        for (kind, chunks) in [(PipelineScheduleKind.oneFOneB, 1), (.zeroBubbleH1, 1), (.interleaved, 2)] {
            let config = Self.zero(3, dp: 2, pp: 2, schedule: kind, chunks: chunks, micro: 2)
            let schedule = try PipelineSchedules.make(kind, ranks: 2, microBatches: 2, chunks: chunks)
            let h = try Self.held(config)
            for (i, r) in h.ranks.enumerated() {
                #expect(r.values == r.full / 2 && r.moments == r.full / 2 && r.idle, "\(kind) \(r)")
                #expect(r.gathers >= 1 && r.gathers <= schedule.actions[0].count, "\(kind) rank \(i) gathers \(r.gathers)")
                if chunks == 1 { #expect(r.gathers == 1, "\(kind): one chunk per rank is gathered once per step") }
                else { #expect(r.gathers > 1, "\(kind): chunks switch, so they are gathered again") }
            }
            #expect(abs(h.estimate.modelStates / h.measured.modelStates - 1) < 0.1,
                    "\(kind) estimate \(h.estimate.line) vs measured \(h.measured.line)")
        }
    }

    /// Saved by dp2×cp2 at ZeRO-3 after 3 steps (whole tensors), the run resumes under one rank and under
    /// dp2×pp2 at ZeRO-3, and each continuation matches the uninterrupted one-rank run.
    @Test func checkpointsReshardBetweenTheCompositions() throws {
        Compute.threads = 1
        var base = Self.zero(0)
        base.model.layers = 4; base.steps = 6
        let data = try TokenDataset.builtIn(seqLen: base.model.seqLen)
        let straight = try ZeROTests.train(base)
        let dir = TestSupport.temporaryPath("zero-cp-ckpt")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var saver = base
        saver.dp = 2; saver.layout.cp = 2; saver.layout.zero = 3
        try TestSupport.trainAndSave(saver, data: data, steps: 3, to: dir)
        let ckpt = try Checkpoint.load(from: dir)
        for (dp, pp, cp) in [(1, 1, 1), (2, 2, 1), (1, 1, 2)] {
            var c = base
            c.dp = dp; c.pp = pp; c.layout.cp = cp; c.layout.zero = dp * cp > 1 ? 3 : 0
            if pp > 1 { c.microBatches = 2 }
            let r = try TestSupport.resumeThreeSteps(c, data: data, from: ckpt, dir: dir)
            let name = c.layoutName
            for (a, b) in zip(r.losses, straight.losses[3...]) { #expect(abs(a - b) / b < 1e-5, "\(name) loss \(a) vs \(b)") }
            for (k, v) in straight.params { #expect(Equivalence.normDifference(r.params[k]!, v) < 1e-4, "\(name) \(k)") }
        }
    }

    /// What stays refused is one line naming what is valid.
    @Test func oneShardingRankIsStillRefused() {
        var c = Self.zero(3, pp: 2, micro: 2)
        let m = TestSupport.message { try c.validate() }
        #expect(m == "zero 3 shards over the data- and context-parallel ranks and needs dp × cp > 1, got dp 1 × cp 1; "
                + "add --dp N or --cp N (N ≥ 2), or drop --zero", "\(m)")
        c.layout.cp = 2
        #expect(TestSupport.message { try c.validate() } == "")
    }
}
