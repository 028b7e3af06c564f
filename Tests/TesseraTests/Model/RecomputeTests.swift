import Foundation
import Testing
import Tessera

/// Recomputation changes what is kept, not what is computed: dropout masks
/// and every product repeat bit for bit, and the bytes kept follow the formulas.
@Suite struct RecomputeTests {
    @Test func recomputedRunsAreTheKeptRunBitForBit() throws {
        Compute.threads = 1
        let runs = try Recompute.allCases.map { mode in
            var c = ZeROTests.zero(0, dp: 1, steps: 4)
            c.recompute = mode
            return try ZeROTests.train(c)
        }
        for (mode, r) in zip(Recompute.allCases.dropFirst(), runs.dropFirst()) {
            #expect(r.losses == runs[0].losses && r.params == runs[0].params, "\(mode)")
        }
    }

    @Test(arguments: Recompute.allCases)
    func keptActivationBytesFollowTheFormula(_ mode: Recompute) throws {
        Compute.threads = 1
        let model = GPTConfig(vocab: 256, seqLen: 16, layers: 2, dModel: 32, heads: 4, dropout: 0.1)
        for (tp, sp) in [(1, false), (2, false), (2, true)] {
            let r = try ActivationMemory.measure(config: model, batch: 2, tp: tp, sp: sp, recompute: mode)
            #expect(r.measured == r.tesseraFormula, "tp\(tp) sp \(sp) \(mode)")
        }
    }

    /// Selective recomputation keeps less than none by exactly the attention core's outputs, the head
    /// outputs and the log-sum-exp, 4·(sbh + asb)/t bytes per block (it once kept the same bytes as none).
    @Test func selectiveDropsTheAttentionCoreOutputs() throws {
        Compute.threads = 1
        let model = GPTConfig(vocab: 256, seqLen: 16, layers: 2, dModel: 32, heads: 4, dropout: 0.1)
        for (tp, sp) in [(1, false), (2, false), (2, true)] {
            let none = try ActivationMemory.measure(config: model, batch: 2, tp: tp, sp: sp, recompute: .none)
            let selective = try ActivationMemory.measure(config: model, batch: 2, tp: tp, sp: sp, recompute: .selective)
            let saving = 4 * (16 * 2 * 32 + 4 * 16 * 2) / tp
            #expect(none.measured - selective.measured == saving, "tp\(tp) sp \(sp)")
            #expect(Int(ActivationMemory.selectiveSaving(s: 16, b: 2, h: 32, a: 4, t: tp)) == saving)
        }
    }

    /// Under ring context parallelism selective recomputation runs the ring again in backward and trains
    /// like one rank; Ulysses, whose all-to-all outputs it does not recompute, is refused.
    @Test func selectiveRecomputesTheRingAndRefusesUlysses() throws {
        Compute.threads = 1
        var config = Equivalence.defaultConfig
        config.layout.cp = 2; config.dp = 2; config.steps = 4; config.recompute = .selective
        let data = try TokenDataset.builtIn(seqLen: config.model.seqLen)
        let report = try #require(try Equivalence.run(config: config, data: data, backend: .threads))
        #expect(report.passed, "\(report.lines.joined(separator: "\n"))")
        config.layout.cpMode = .ulysses
        #expect(TestSupport.message { try config.validate() }.hasPrefix("recompute selective recomputes the attention core"))
    }

    /// Full recomputation composes with ZeRO-3 (the recomputed forward reads the units gathered for backward).
    @Test(arguments: [Recompute.selective, .full])
    func recomputationUnderAShardedLayoutTrainsLikeOneRank(_ mode: Recompute) throws {
        Compute.threads = 1
        var config = ZeROTests.zero(3, dp: 2, tp: 2, sp: true)
        config.recompute = mode
        let data = try TokenDataset.builtIn(seqLen: config.model.seqLen)
        let report = try #require(try Equivalence.run(config: config, data: data, backend: .threads))
        #expect(report.passed, "\(report.lines.joined(separator: "\n"))")
    }
}
