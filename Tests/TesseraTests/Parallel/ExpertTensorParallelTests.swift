import Foundation
import Synchronization
import Testing
import Tessera

/// Expert tensor parallelism (`--expert-tp` = tp): each expert's MLP is
/// split over the tensor-parallel group like the dense one (column-parallel
/// up, row-parallel down), routing unchanged. Layouts train like one rank,
/// each tp rank holds 1/tp of every expert's matrices (and the estimate
/// counts them so), and `--expert-tp 1` keeps today's whole experts.
@Suite struct ExpertTensorParallelTests {
    static func moe(dp: Int = 1, ep: Int = 1, tp: Int = 2, sp: Bool = false, expertTP: Int = 2, zero: Int = 0,
                    pp: Int = 1) -> TrainConfig {
        var c = ExpertParallelTests.moe(dp: dp, ep: ep, tp: tp, sp: sp, pp: pp, micro: pp > 1 ? 2 : 1, zero: zero)
        c.layout.expertTP = expertTP
        return c
    }

    @Test(arguments: [
        moe(), moe(sp: true), moe(dp: 2, ep: 2), moe(dp: 2, ep: 2, sp: true, zero: 3), moe(tp: 4, expertTP: 4),
        moe(pp: 2),
    ])
    func layoutMatchesOneRank(_ config: TrainConfig) throws {
        Compute.threads = 1
        #expect(config.layoutName.hasSuffix("+etp\(config.layout.expertTP)") || config.layout.zero > 0)
        let data = try TokenDataset.builtIn(seqLen: config.model.seqLen)
        let report = try #require(try Equivalence.run(config: config, data: data, backend: .threads))
        #expect(report.passed, "\(report.lines.joined(separator: "\n"))")
        #expect(report.serialLosses.last! < report.serialLosses.first! - 1)
    }

    /// Each tp rank's experts hold rows tp.part(H) of W_fc and b_fc and the same columns of W_out, b_out whole;
    /// the estimate's parameters count exactly the experts divided by expert-tp (whole at expert-tp 1).
    @Test func eachRankHoldsItsPartOfEveryExpertAndTheEstimateCountsIt() throws {
        Compute.threads = 1
        for expertTP in [1, 2] {
            let config = Self.moe(expertTP: expertTP)
            let H = config.model.expertWidth, d = config.model.dModel
            let data = try TokenDataset.builtIn(seqLen: config.model.seqLen)
            let counts = Mutex<[Int: (local: Int, expert: Int)]>([:])
            try Launcher.run(config: config, backend: .threads) { groups in
                let trainer = try Trainer(config: config, data: data, groups: groups)
                let experts = trainer.parameters.filter(\.placement.isExpert)
                for p in experts where p.name.hasSuffix("fc.weight") {
                    #expect(p.shape == [H / expertTP, d] && p.globalShape == [H, d], "\(p.name) \(p.shape)")
                }
                for p in experts where p.name.hasSuffix("out.weight") {
                    #expect(p.shape == [d, H / expertTP] && p.globalShape == [d, H], "\(p.name) \(p.shape)")
                }
                for p in experts where p.name.hasSuffix("out.bias") { #expect(p.shape == [d]) }
                let local = trainer.parameters.reduce(0) { $0 + $1.value.count }
                counts.withLock { $0[groups.tp.rank] = (local, experts.reduce(0) { $0 + $1.value.count }) }
            }
            let perExpert = 2 * H * d / expertTP + H / expertTP + d
            let total = config.model.expertLayerCount * config.model.experts * perExpert
            for (rank, c) in counts.withLock({ $0 }) {
                #expect(c.expert == total, "tp rank \(rank) expert-tp \(expertTP)")
                let estimate = MemoryEstimate(config, ranksHere: 2)
                // The estimate counts wte + wpe on every rank and the final LayerNorm; the model holds them too.
                #expect(Int(estimate.parameters) == c.local, "expert-tp \(expertTP): estimate \(estimate.parameters) vs \(c.local)")
            }
        }
    }

    /// The planner honours a layout's expert-tp whatever the shape's default: on Tessera's shape (whole
    /// experts) tp2+etp2 holds exactly half of every expert's matrices and b_fc less than tp2; a wrong
    /// expert-tp is refused in one line.
    @Test func thePlannerSplitsExpertWeightsByExpertTP() throws {
        let config = Self.moe()
        let m = ModelShape(config.model), hw = try Hardware.preset("a100-80")
        let setup = TrainingSetup(globalBatch: 8, microBatch: 8, precision: .fp32, convention: .tessera)
        let whole = try LayoutPlan(m, layout: try Layout(name: "tp2"), setup: setup, hardware: hw)
        let split = try LayoutPlan(m, layout: try Layout(name: "tp2+etp2"), setup: setup, hardware: hw)
        let H = Double(config.model.expertWidth), d = Double(config.model.dModel)
        let halved = Double(config.model.expertLayerCount * config.model.experts) * (2 * H * d + H) / 2
        #expect(whole.memory.weights - split.memory.weights == 4 * halved, "\(whole.memory.weights) \(split.memory.weights)")
        let message = TestSupport.message {
            _ = try LayoutPlan(m, layout: try Layout(name: "tp4+etp2"), setup: setup, hardware: hw)
        }
        // The planner refuses it with the runtime's own message (`Topology.validate`).
        #expect(message == "expert-tp 2 must be 1 (whole experts on each tensor-parallel rank) or tp (each expert split "
                + "like the dense MLP); valid expert-tp with tp 4: 1, 4")
    }

    @Test func badExpertTPIsAOneLineErrorNamingValidValues() throws {
        func message(_ edit: (inout TrainConfig) -> Void) -> String {
            var c = Self.moe()
            edit(&c)
            return TestSupport.message { try c.validate() }
        }
        #expect(message { $0.layout.expertTP = 4 }
                    == "expert-tp 4 must be 1 (whole experts on each tensor-parallel rank) or tp (each expert split like "
                    + "the dense MLP); valid expert-tp with tp 2: 1, 2")
        #expect(message { $0.tp = 1 }.hasSuffix("valid expert-tp with tp 1: 1 (add --tp N to split experts)"))
        #expect(message { $0.model.experts = 0; $0.model.capacityFactor = 0 }
                    == "expert-tp 2 needs a mixture of experts to split; add --experts E or use expert-tp 1")
        #expect(message { $0.model.expertHidden = 6; $0.tp = 4; $0.layout.expertTP = 4 }
                    == "expert-tp 4 splits each expert's hidden width 6 over tp 4, which does not divide it; "
                    + "nearest valid expert-hidden: 4, 8, or expert-tp 1")
        #expect(message { _ in } == "")
        #expect(try Layout(name: "tp2+etp2").expertTP == 2)
    }
}
