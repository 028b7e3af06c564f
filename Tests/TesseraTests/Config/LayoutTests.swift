import Foundation
import Testing
import Tessera

/// A layout is one value: one parser for names, flags and files, one
/// validation, a name that reads back as the same layout.
@Suite struct LayoutTests {
    @Test(arguments: ["serial", "dp2", "tp2+sp", "dp2×tp2+sp", "dp2×pp2v2(interleaved)×tp2+sp", "pp4(zb-h1)",
                      "dp2×pp2(gpipe)", "pp2(naive)", "dp4"])
    func aNameReadsBackAsTheSameLayout(_ name: String) throws {
        let layout = try Layout(name: name)
        #expect(layout.name == name)
        #expect(try Layout(name: layout.name) == layout)
    }

    @Test func benchStyleNamesSetTheFieldsThatFlagsSet() throws {
        let named = try Layout(name: "dp2xtp2+sp")
        let flagged = try GivenSettings(configFile: nil, words: ["--dp", "2", "--tp=2", "--sp"], table: Layout.table)
            .applied(to: Layout())
        #expect(named == flagged && named.dp == 2 && named.tp == 2 && named.sp && named.worldSize == 4)
        let pipeline = try Layout(name: "pp2v2(interleaved)")
        #expect(pipeline.pp == 2 && pipeline.ppChunks == 2 && pipeline.schedule == .interleaved)
    }

    @Test func badNamesSayWhatANameLooksLike() {
        #expect(TestSupport.message { _ = try Layout(name: "dq2") }
                    == "layout 'dq2': 'dq2' is not dpN, ppN, cpN, tpN or epN; layouts look like dp2, tp2+sp, dp2xtp2, pp2v2(interleaved), cp2(ulysses), serial")
        #expect(TestSupport.message { _ = try Layout(name: "tp2+fast") }.contains("'+fast' is not +sp, +etpN or +zeroN"))
        #expect(TestSupport.message { _ = try Layout(name: "dp0") } == "layout 'dp0': dp must be an integer in 1...65536, got 0")
        #expect(TestSupport.message { _ = try Layout(name: "pp2(zigzag)") }
                    == "layout 'pp2(zigzag)': schedule must be naive, gpipe, 1f1b, interleaved or zb-h1, got zigzag")
    }

    /// ep splits experts and is refused without them (see `ExpertParallelTests` for the rest). ZeRO
    /// shards over dp × cp and is refused with one such rank (it would shard over nothing).
    @Test(arguments: [("ep", "4", "ep 4 needs a mixture of experts to split", "or use ep 1"),
                      ("zero", "1", "zero 1 shards over the data- and context-parallel ranks and needs dp × cp > 1, got dp 1 × cp 1",
                       "add --dp N or --cp N (N ≥ 2), or drop --zero")])
    func dimensionsThatDoNotTrainYetAreRefusedNamingTheValidValue(_ key: String, _ value: String, _ what: String,
                                                                  _ valid: String) throws {
        var c = TrainConfig()
        try c.set(key, .text(value), source: "command line")
        let m = TestSupport.message { try c.validate() }
        #expect(m.hasPrefix(what) && m.hasSuffix(valid), "\(m)")
        #expect(!m.contains("\n"))
    }

    @Test func zeroStageOutsideZeroToThreeIsOutOfRange() {
        var c = TrainConfig()
        #expect(TestSupport.message { try c.set("zero", .int(4), source: "test") } == "test: zero must be an integer in 0...3, got 4")
    }

    @Test func settingsThatNeedAnotherDimensionAreErrors() {
        var sp = TrainConfig()
        sp.sp = true
        #expect(TestSupport.message { try sp.validate() }
                    == "sp needs tp > 1 (it splits the sequence across the tensor-parallel group), got tp 1; add --tp N or drop --sp")
        var schedule = TrainConfig()
        schedule.schedule = .zeroBubbleH1
        #expect(TestSupport.message { try schedule.validate() } == "schedule zb-h1 needs pp > 1 (a pipeline), got pp 1; add --pp N or drop it")
        var layers = TrainConfig()
        layers.layout.ppLayers = [2, 2]
        #expect(TestSupport.message { try layers.validate() } == "pp-layers 2,2 needs pp > 1 (a pipeline), got pp 1; add --pp N or drop it")
    }

    @Test func aMeshOfMoreRanksThanSupportedIsRefusedWithoutOverflow() {
        var l = Layout()
        l.dp = 65536; l.tp = 65536
        #expect(TestSupport.message { try l.validateMesh() }
                    == "layout dp65536×tp65536 needs dp 65536 × pp 1 × cp 1 × tp 65536 ranks, more than the 65536 a mesh may have")
        l.tp = 1; l.order = [.dp, .tp]
        #expect(TestSupport.message { try l.validateMesh() }
                    == "order must be dp,pp,cp,tp in any order (or fewer), got 'dp,tp'")
    }

    @Test func theMeshFollowsTheLayoutsOrder() throws {
        var l = try Layout(name: "dp2xtp2")
        #expect(try DeviceMesh(l).groupMembers(of: 0, along: [.tp]) == [0, 1])
        l = try GivenSettings(configFile: nil, words: ["--order", "pp,tp,cp,dp"], table: Layout.table).applied(to: l)
        #expect(try DeviceMesh(l).groupMembers(of: 0, along: [.tp]) == [0, 2])
    }

    /// Another mesh order puts other ranks in each group, and trains the same model as one rank.
    @Test func aLayoutInAnotherMeshOrderTrainsLikeOneRank() throws {
        Compute.threads = 1
        var c = Equivalence.defaultConfig
        c.model.layers = 2
        c.layout = try Layout(name: "dp2×pp2(1f1b)×tp2+sp")
        c.layout.microBatches = 2
        c.layout.order = [.tp, .dp, .cp, .pp]  // pp innermost: pipeline neighbours on neighbouring ranks
        c.steps = 4
        let report = try #require(try Equivalence.run(config: c, data: try TokenDataset.builtIn(seqLen: c.model.seqLen),
                                                      backend: .threads))
        #expect(report.passed, "\(report.lines.joined(separator: "\n"))")
        #expect(try DeviceMesh(c.layout).groupMembers(of: 0, along: [.pp]) == [0, 1])
    }

    /// A checkpoint stores the config as the table's keys and reads it back whole.
    @Test func theConfigRoundTripsThroughItsStoredForm() throws {
        var c = TrainConfig()
        c.model.dModel = 96; c.model.heads = 3
        c.layout = try Layout(name: "dp2×pp2v2(interleaved)×tp3")
        c.layout.microBatches = 4; c.layout.ppLayers = [1, 1, 1, 1]
        c.lr = 3e-4; c.gradClip = 0; c.seed = 42; c.data = "corpus.txt"; c.resume = "old"; c.trace = "t.txt"
        let back = try JSONDecoder().decode(TrainConfig.self, from: JSONEncoder().encode(c))
        var expected = c
        expected.resume = nil  // where a run came from, and what one invocation traced, are not part of it
        expected.trace = nil
        #expect(back == expected)
    }
}
