import Foundation
import Synchronization
import Testing
import Tessera

/// Layouts train exactly like one rank: `tessera verify`'s harness, 20 steps
/// with dropout on, every step's loss within 1e-5 and every parameter tensor
/// within 1e-4 (relative) of the one-rank run.
@Suite struct EquivalenceTests {
    static func layout(dp: Int = 1, tp: Int = 1, sp: Bool = false, vocab: Int = 256, micro: Int = 1) -> TrainConfig {
        var c = Equivalence.defaultConfig
        c.dp = dp; c.tp = tp; c.sp = sp
        c.model.vocab = vocab
        c.microBatches = micro
        return c
    }

    /// A pipeline layout on a 4-layer model.
    static func pipeline(pp: Int, schedule: PipelineScheduleKind = .oneFOneB, chunks: Int = 1, micro: Int, dp: Int = 1, tp: Int = 1,
                         sp: Bool = false) -> TrainConfig {
        var c = layout(dp: dp, tp: tp, sp: sp, micro: micro)
        c.model.layers = 4
        c.pp = pp; c.schedule = schedule; c.ppChunks = chunks
        return c
    }

    @Test(arguments: [
        layout(dp: 2), layout(tp: 2), layout(tp: 4), layout(tp: 2, sp: true), layout(tp: 4, sp: true),
        layout(dp: 2, tp: 2, sp: true), layout(dp: 4, tp: 2),
        // A vocabulary that tp does not divide is padded: 258 → 260 over 4 ranks.
        layout(tp: 4, sp: true, vocab: 258),
        // Gradient accumulation under data parallelism.
        layout(dp: 2, tp: 2, sp: true, micro: 2),
        // Pipelines: every schedule, and pipelines composed with dp, tp and sp (8 ranks).
        pipeline(pp: 2, micro: 4), pipeline(pp: 4, micro: 8), pipeline(pp: 2, schedule: .interleaved, chunks: 2, micro: 4),
        pipeline(pp: 4, schedule: .zeroBubbleH1, micro: 8), pipeline(pp: 2, schedule: .gpipe, micro: 4),
        pipeline(pp: 2, schedule: .naive, micro: 1), pipeline(pp: 2, micro: 2, dp: 2, tp: 2, sp: true),
    ])
    func layoutMatchesOneRank(_ config: TrainConfig) throws {
        Compute.threads = 1
        let data = try TokenDataset.builtIn(seqLen: config.model.seqLen)
        let report = try #require(try Equivalence.run(config: config, data: data, backend: .threads))
        #expect(report.serialLosses.count == 20)
        #expect(report.passed, "\(report.lines.joined(separator: "\n"))")
        #expect(report.worstLossDifference <= 1e-5 && report.worstParameterDifference <= 1e-4)
        // No single weight strays far either (see Equivalence.normDifference for why it may exceed 1e-4).
        #expect(report.parameterDifferences.allSatisfy { $0.worstElement <= 1e-3 })
        // The runs really trained (a comparison of untouched weights would prove nothing).
        #expect(report.serialLosses.last! < report.serialLosses.first! - 1)
    }

    static func bf16(_ c: TrainConfig) -> TrainConfig {
        var c = c
        c.precision = .bf16
        return c
    }

    /// bf16 layouts against the one-rank bf16 run: the first step, from
    /// identical weights, to 1e-6; the whole run at bf16's tolerances
    /// (`Equivalence.tolerances(for:)` says why they differ from float32's).
    /// And bf16 is really in use: its first loss differs from float32's by
    /// more than 1e-6.
    @Test(arguments: [
        bf16(layout(dp: 2)), bf16(layout(tp: 2, sp: true)), bf16(layout(tp: 4)),
        bf16(pipeline(pp: 2, micro: 4)), bf16(pipeline(pp: 4, schedule: .zeroBubbleH1, micro: 8)),
        bf16(pipeline(pp: 2, micro: 2, dp: 2, tp: 2, sp: true)),
    ])
    func bf16LayoutMatchesOneRankBF16(_ config: TrainConfig) throws {
        Compute.threads = 1
        let data = try TokenDataset.builtIn(seqLen: config.model.seqLen)
        let report = try #require(try Equivalence.run(config: config, data: data, backend: .threads))
        func gap(_ a: Double, _ b: Double) -> Double { abs(a - b) / abs(b) }
        #expect(gap(report.layoutLosses[0], report.serialLosses[0]) <= 1e-6)
        #expect(report.passed, "\(report.lines.joined(separator: "\n"))")
        #expect(report.lossTolerance == 1e-3 && report.parameterTolerance == 3e-2)
        #expect(report.serialLosses.last! < report.serialLosses.first! - 1)

        var fp32 = config.oneRank
        fp32.precision = .fp32
        fp32.steps = 1
        let fp32Loss = try Trainer(config: fp32, data: data).trainStep().loss
        #expect(gap(fp32Loss, report.serialLosses[0]) > 1e-6, "fp32 \(fp32Loss) vs bf16 \(report.serialLosses[0])")
    }

    @Test func gpipeStashesEveryMicroBatchAnd1F1BAtMostP() throws {
        Compute.threads = 1
        func peak(_ schedule: PipelineScheduleKind) throws -> Int {
            let config = Self.pipeline(pp: 4, schedule: schedule, micro: 8)
            let data = try TokenDataset.builtIn(seqLen: config.model.seqLen)
            let peaks = Mutex<[Int]>([])
            try Launcher.run(config: config, backend: .threads) { groups in
                let trainer = try Trainer(config: config, data: data, groups: groups)
                _ = try trainer.trainStep()
                peaks.withLock { $0.append(trainer.pipeline!.peakStashed) }
            }
            return peaks.withLock { $0.max()! }
        }
        #expect(try peak(.gpipe) == 8)
        #expect(try peak(.oneFOneB) == 4)
        #expect(try peak(.zeroBubbleH1) <= 4)
    }

    @Test func aWrongLayoutIsReportedAsNotEquivalent() throws {
        // A loss off by 2e-5 relative on one step must fail the check.
        Compute.threads = 1
        var config = Self.layout(dp: 2)
        config.steps = 3
        let data = try TokenDataset.builtIn(seqLen: config.model.seqLen)
        let good = try #require(try Equivalence.run(config: config, data: data, backend: .threads))
        var bad = good
        bad.layoutLosses[1] *= 1 + 2e-5
        #expect(good.passed && !bad.passed)
        #expect(bad.lines.last!.contains("NOT EQUIVALENT"))
    }

    @Test func shardsHoldExactlyTheirSliceOfTheOneRankWeights() throws {
        Compute.threads = 1
        let config = GPTConfig(vocab: 259, seqLen: 16, layers: 2, dModel: 32, heads: 4, dropout: 0)
        let serial = GPT(config, seed: 3)
        let gathered = Mutex<[String: [Float]]>([:])
        try ThreadWorld.run(size: 4) { world in
            let model = GPT(config, seed: 3, tp: TensorParallel(group: world, sequenceParallel: false))
            #expect(model.wte?.shape == [65, 32])  // 259 padded to 260, 65 rows per rank
            let full = try FullTensors.gather(model.parameters, model.parameters.map(\.value),
                                              layout: GPT.parameterLayout(config), group: world)
            if world.rank == 0 { gathered.withLock { $0 = full } }
        }
        let full = gathered.withLock { $0 }
        #expect(full.count == serial.parameters.count)
        for p in serial.parameters {
            #expect(full[p.name] == p.value.array, "\(p.name)")
        }
    }
}
