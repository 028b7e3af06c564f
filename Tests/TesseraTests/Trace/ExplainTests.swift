import Testing
import Tessera

/// `tessera explain`: each strategy runs live and checks itself against one rank.
@Suite struct ExplainTests {
    @Test(arguments: [(Explain.Strategy.tp, 2), (.tp, 4), (.sp, 2), (.sp, 4), (.dp, 2), (.dp, 4), (.pp, 2), (.pp, 4)])
    func everyStrategyMatchesTheUnshardedComputation(_ s: Explain.Strategy, _ ranks: Int) throws {
        let lines = try Explain.lines(s, ranks: ranks)
        let checks = lines.filter { $0.hasPrefix("check:") }
        #expect(!checks.isEmpty && checks.allSatisfy { $0.hasSuffix(": yes") }, "\(checks)")
        #expect(lines.contains { $0.contains("rank \(ranks - 1)") })
    }

    @Test func theSequenceParallelRowHalvesTheActivationsOnTwoRanks() throws {
        #expect(try Explain.lines(.sp, ranks: 2).contains { $0.contains("tp+sp holds 16 (50%)") })
        #expect(try Explain.lines(.pp, ranks: 2).contains { $0.contains("bubble 20.0% = (p−1)/(m+p−1) = 1/5 = 20.0%") })
    }

    @Test func strategiesNotBuiltYetSaySoInOneLine() {
        for s in [Explain.Strategy.cp, .ep, .zero] {
            #expect(TestSupport.message { _ = try Explain.lines(s) }.contains("yet; explain takes tp, sp, dp or pp"))
        }
        #expect(TestSupport.message { _ = try Explain.lines(.tp, ranks: 3) } == "explain runs on 2 or 4 ranks, got 3")
    }
}
