import Testing
import Tessera

/// `tessera explain` of the collectives and the operators' names: every ring
/// checks itself, and each rank sends what the ring formula says.
@Suite struct ExplainCollectiveTests {
    @Test(arguments: [Explain.Strategy.allreduce, .reducescatter, .allgather, .alltoall], [2, 3, 4, 8])
    func everyCollectiveChecksItselfAndSendsTheRingsBytes(_ s: Explain.Strategy, _ n: Int) throws {
        let lines = try Explain.lines(s, ranks: n)
        let checks = lines.filter { $0.hasPrefix("check:") }
        #expect(checks.count == 2 && checks.allSatisfy { $0.hasSuffix(": yes") }, "\(checks)")
        // Chunks of 8 bytes: 2(N−1) of them for all-reduce, N−1 otherwise.
        let chunks = s == .allreduce ? 2 * (n - 1) : n - 1
        #expect(lines.contains { $0.hasPrefix("bytes each rank sent: \(8 * chunks) = ") }, "\(lines)")
        #expect(lines.filter { $0.hasPrefix("  rank \(n - 1) ") }.count == chunks + 1)
    }

    @Test func theOperatorsAreNamedAndTheBackwardIsShown() throws {
        let tp = try Explain.lines(.tp, ranks: 2)
        #expect(tp.contains { $0.contains("f = identity forward / all-reduce backward") })
        #expect(tp.contains("BACKWARD (the same operators, conjugate: each one's backward is the other collective), given dY = ∂L/∂Y"))
        #expect(tp.contains { $0.hasPrefix("ATTENTION HEADS: 4 heads") })
        #expect(tp.filter { $0.hasPrefix("check:") }.count == 4)
        let sp = try Explain.lines(.sp, ranks: 4)
        #expect(sp.contains { $0.contains("ḡ = reduce-scatter forward / all-gather backward") })
    }

    @Test func ppTakesASchedule() throws {
        let gpipe = try Explain.lines(.pp, ranks: 4, schedule: .gpipe)
        #expect(gpipe.contains { $0.hasPrefix("   micro-batches held at most, per rank: 4, 4, 4, 4 (GPipe keeps all m") })
        let oneF = try Explain.lines(.pp, ranks: 4)
        #expect(oneF.contains { $0.hasPrefix("   micro-batches held at most, per rank: 4, 3, 2, 1") })
        #expect(oneF.contains { $0.hasPrefix("W_0 (rank 0) (3×3) = ") })
        let zb = try Explain.lines(.pp, ranks: 2, schedule: .zeroBubbleH1)
        #expect(zb.filter { $0.hasPrefix("check:") }.allSatisfy { $0.hasSuffix(": yes") })
        #expect(TestSupport.message { _ = try Explain.lines(.tp, ranks: 2, schedule: .gpipe) }
                    == "--schedule is pp's; drop it for explain tp")
        #expect(TestSupport.message { _ = try Explain.lines(.allreduce, ranks: 9) } == "explain allreduce runs on 2 to 8 ranks, got 9")
    }
}
