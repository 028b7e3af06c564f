import Testing
import Tessera

/// `tessera explain`: each strategy runs live and checks itself against one rank.
@Suite struct ExplainTests {
    @Test(arguments: [(Explain.Strategy.tp, 2), (.tp, 4), (.sp, 2), (.sp, 4), (.dp, 2), (.dp, 4), (.pp, 2), (.pp, 4),
                                (.cp, 2), (.cp, 4), (.zero, 2), (.zero, 4), (.ep, 2), (.ep, 4)])
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

    @Test func contextParallelShowsTheChunkRuleAndWhatEachRingStepHolds() throws {
        let cp = try Explain.lines(.cp, ranks: 2)
        // Positions 0,1,6,7 and 2,3,4,5 attend to 1+2+7+8 = 3+4+5+6 = 18 keys per head.
        #expect(cp.contains("  rank 0: chunks 0 and 3 = positions 0,1,6,7: 18 causal scores per head"), "\(cp)")
        #expect(cp.contains("  rank 1: chunks 1 and 2 = positions 2,3,4,5: 18 causal scores per head"))
        // Step 0: each rank's own block (10 visible); step 1: the other's (rank 0's queries 6, 7 see keys 2–5).
        #expect(cp.contains { $0.hasPrefix("  step 0: rank 0 holds K/V of positions 0,1,6,7 (10 visible); rank 1 holds K/V of positions 2,3,4,5 (10 visible)") })
        #expect(cp.contains { $0.hasPrefix("  step 1: rank 0 holds K/V of positions 2,3,4,5 (8 visible); rank 1 holds K/V of positions 0,1,6,7 (8 visible)") })
        let cp4 = try Explain.lines(.cp, ranks: 4)
        #expect(cp4.contains("  rank 3: chunks 3 and 4 = positions 3,4: 9 causal scores per head"))
        #expect(cp4.filter { $0.hasPrefix("  step ") && $0.contains("holds K/V") }.count == 4)
    }

    @Test func zeroShowsTheMemoryPerRankOfEachStage() throws {
        let two = try Explain.lines(.zero, ranks: 2)
        for row in ["  stage 0: W 8 + g 8 + m 8 = 24 values; AdamW in float32: 16 bytes per parameter",
                    "  stage 1: W 8 + g 8 + m 4 = 20 values (83% of DP); AdamW in float32: 12 bytes per parameter",
                    "  stage 2: W 8 + g 4 + m 4 = 16 values (66% of DP); AdamW in float32: 10 bytes per parameter",
                    "  stage 3: W 4 + g 4 + m 4 = 12 values (50% of DP); AdamW in float32: 8 bytes per parameter"] {
            #expect(two.contains(row), "\(row)")
        }
        #expect(try Explain.lines(.zero, ranks: 4).contains("  stage 3: W 2 + g 2 + m 2 = 6 values (25% of DP); AdamW in float32: 4 bytes per parameter"))
        // Per stage: the step against one rank's, and dX (stage 3 after gathering W twice).
        #expect(two.filter { $0.hasPrefix("check:") }.count == 8)
    }

    @Test func expertParallelismShowsTheCountsEachRankExchanges() throws {
        for ranks in [2, 4] {
            let lines = try Explain.lines(.ep, ranks: ranks)
            // "  rank r sends A to rank 0 [..], B to rank 1 [..]; receives C from rank 0, D from rank 1"
            let exchanges = lines.filter { $0.hasPrefix("  rank ") && $0.contains(" sends ") }
            #expect(exchanges.count == ranks, "\(lines)")
            func total(_ line: Substring, before word: String) -> Int {
                line.components(separatedBy: ", ").compactMap { part in
                    let words = part.split(separator: " ")
                    return words.firstIndex(of: Substring(word)).flatMap { Int(words[$0 - 1]) }
                }.reduce(0, +)
            }
            let sent = exchanges.map { total($0.split(separator: ";")[0], before: "to") }
            let received = exchanges.map { total($0.split(separator: ";")[1], before: "from") }
            #expect(sent.allSatisfy { $0 == 3 }, "each rank sends its 3 tokens: \(sent)")
            #expect(received.reduce(0, +) == 3 * ranks, "every token arrives once: \(received)")
            // One product per local expert (2 per rank), and the loads add up to every token.
            #expect(lines.filter { $0.contains("multiplies") }.count == 2 * ranks)
            let load = lines.first { $0.hasPrefix("load: tokens per expert ") }!
                .dropFirst("load: tokens per expert ".count).split(separator: ";")[0]
            #expect(load.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces))! }.reduce(0, +) == 3 * ranks)
        }
    }

    @Test(arguments: [Explain.Strategy.dp, .pp, .cp, .ep, .zero], [2, 4])
    func everyStrategyShowsItsBackward(_ s: Explain.Strategy, _ ranks: Int) throws {
        let lines = try Explain.lines(s, ranks: ranks)
        let backward = lines.firstIndex { $0.hasPrefix("BACKWARD") || $0.contains("before the backward") }
        #expect(backward != nil, "\(s)")
        // At least one check after the backward begins, and every check holds.
        #expect(lines[(backward ?? lines.count)...].contains { $0.hasPrefix("check:") })
        #expect(lines.filter { $0.hasPrefix("check:") }.allSatisfy { $0.hasSuffix(": yes") })
    }

    @Test func theBackwardsShowWhatTravels() throws {
        // pp: the gradient goes from the last stage to the first; rank 0 ends with dX.
        let pp = try Explain.lines(.pp, ranks: 2)
        #expect(pp.contains { $0.hasPrefix("  rank 1 dy = G: ") && $0.contains("→ send dh to rank 0") })
        #expect(pp.contains { $0.hasPrefix("  rank 0 recv dy from rank 1: ") && $0.contains("→ dX ") })
        // cp: cp − 1 hops with K, V, dK, dV and one home, cp sends in all.
        for ranks in [2, 4] {
            let cp = try Explain.lines(.cp, ranks: ranks)
            #expect(cp.contains { $0.hasPrefix("check: each rank sent cp = \(ranks) times") && $0.hasSuffix(": yes") })
            #expect(cp.filter { $0.hasPrefix("  step ") && $0.contains("adds its queries' share") }.count == ranks)
        }
        // ZeRO-3 gathers W twice per step (forward, backward); the check counts the calls.
        #expect(try Explain.lines(.zero, ranks: 4).contains {
            $0.contains("after 2 all-gathers of W per rank (forward, backward)") && $0.hasSuffix(": yes")
        })
        // ep: each rank sends all its tokens' gradients (3) and gets 3 dX rows back.
        #expect(try Explain.lines(.ep, ranks: 2).contains { $0.contains("rows sent: 3, 3)") })
    }

    @Test func badRankCountsSaySoInOneLine() {
        #expect(TestSupport.message { _ = try Explain.lines(.tp, ranks: 3) } == "explain tp runs on 2 or 4 ranks, got 3")
    }
}
