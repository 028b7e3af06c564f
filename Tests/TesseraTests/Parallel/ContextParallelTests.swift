import Foundation
import Synchronization
import Testing
import Tessera

/// Context parallelism: the chunk rule, equal causal work, what each
/// attention layer exchanges, bad layouts, and 4-D layouts training like one rank.
@Suite struct ContextParallelTests {
    static func cp(_ n: Int, mode: ContextParallelMode = .ring, dp: Int = 1, tp: Int = 1, sp: Bool = false,
                   pp: Int = 1, micro: Int = 1) -> TrainConfig {
        var c = pp > 1 ? EquivalenceTests.pipeline(pp: pp, micro: micro, dp: dp, tp: tp, sp: sp)
                       : EquivalenceTests.layout(dp: dp, tp: tp, sp: sp, micro: micro)
        c.layout.cp = n
        c.layout.cpMode = mode
        return c
    }

    /// The issue's verify rows, 20 steps with dropout on, at float32's tolerances.
    @Test(arguments: [
        cp(2), cp(4), cp(2, mode: .ulysses), cp(2, tp: 2, sp: true), cp(2, dp: 2), cp(2, pp: 2, micro: 4),
        cp(2, dp: 2, tp: 2, sp: true, pp: 2, micro: 2),
    ])
    func contextParallelLayoutMatchesOneRank(_ config: TrainConfig) throws {
        Compute.threads = 1
        let data = try TokenDataset.builtIn(seqLen: config.model.seqLen)
        let report = try #require(try Equivalence.run(config: config, data: data, backend: .threads))
        #expect(report.passed, "\(report.lines.joined(separator: "\n"))")
        #expect(report.worstLossDifference <= 1e-5 && report.worstParameterDifference <= 1e-4)
        #expect(report.serialLosses.last! < report.serialLosses.first! - 1)
    }

    /// Rank r holds chunks r and 2·cp − 1 − r of 2·cp equal chunks.
    @Test func chunkRuleTable() {
        let table: [(cp: Int, T: Int, rank: Int, chunks: [Range<Int>])] = [
            (1, 8, 0, [0..<4, 4..<8]),
            (2, 16, 0, [0..<4, 12..<16]), (2, 16, 1, [4..<8, 8..<12]),
            (4, 32, 0, [0..<4, 28..<32]), (4, 32, 1, [4..<8, 24..<28]),
            (4, 32, 2, [8..<12, 20..<24]), (4, 32, 3, [12..<16, 16..<20]),
        ]
        for row in table {
            #expect(ContextParallel.chunks(rank: row.rank, size: row.cp, seqLen: row.T) == row.chunks, "\(row)")
        }
        // Every position is held by exactly one rank.
        for n in [2, 3, 4, 8] {
            let held = (0..<n).flatMap { r in ContextParallel.chunks(rank: r, size: n, seqLen: 48 * n).flatMap { Array($0) } }
            #expect(held.sorted() == Array(0..<(48 * n)))
        }
    }

    /// Under a causal mask query p attends to p + 1 keys: every rank's pair of chunks sums to the same work.
    @Test func everyRankDoesEqualCausalWork() {
        for n in [2, 4, 8] {
            let T = 64 * n
            let work = (0..<n).map { r in
                ContextParallel.chunks(rank: r, size: n, seqLen: T).reduce(0) { $0 + $1.reduce(0) { $0 + $1 + 1 } }
            }
            #expect(Set(work).count == 1, "cp \(n): \(work)")
            #expect(work.reduce(0, +) == T * (T + 1) / 2)
        }
    }

    /// Messages on the cp group of one attention layer's forward and forward+backward, per rank 0.
    static func exchanges(cp n: Int, mode: ContextParallelMode) throws -> (forward: [String: Int], backward: [String: Int]) {
        let config = GPTConfig(vocab: 256, seqLen: 32, layers: 1, dModel: 32, heads: 4, dropout: 0.1)
        let result = Mutex<(forward: [String: Int], backward: [String: Int])>(([:], [:]))
        try ThreadWorld.run(size: n) { world in
            let cp = ContextParallel(group: world, mode: mode)
            let attention = CausalSelfAttention(name: "h.0.attn", dModel: 32, heads: 4, layers: 1, tp: .single())
            for p in attention.parameters { p.initialize(seed: 1) }
            let ctx = ForwardContext(samples: 2, positions: config.seqLen, sampleOffset: 0, step: 0, seed: 1,
                                     dropout: 0.1, contextParallel: cp)
            let x = Tensor([ctx.rows, 32], TestSupport.randomFloats(ctx.rows * 32, seed: UInt64(7 + world.rank)))
            let (y, cache) = try attention.forward(x, ctx)
            let forward = cp.group.tallies.mapValues(\.calls)
            cp.group.reset()
            _ = try attention.backward(y, cache, ctx)
            let backward = cp.group.tallies.mapValues(\.calls)
            if world.rank == 0 { result.withLock { $0 = (forward, backward) } }
        }
        return result.withLock { $0 }
    }

    @Test func ringPassesKeyValuesCpMinusOneTimesAndReturnsGradientsToOwners() throws {
        Compute.threads = 1
        for n in [2, 4] {
            let (forward, backward) = try Self.exchanges(cp: n, mode: .ring)
            #expect(forward == ["send": n - 1, "recv": n - 1], "cp \(n) forward")
            // K/V travel again (cp − 1), their gradients travel with them and one step further home (cp).
            #expect(backward == ["send": 2 * n - 1, "recv": 2 * n - 1], "cp \(n) backward")
        }
    }

    @Test func ulyssesAllToAllsOnceEachWay() throws {
        Compute.threads = 1
        let (forward, backward) = try Self.exchanges(cp: 2, mode: .ulysses)
        #expect(forward == ["allToAll": 2])  // q, k, v to heads; y back to sequence
        #expect(backward == ["allToAll": 2])  // dy to heads; dqkv back
    }

    @Test func badContextParallelLayoutsAreOneLineErrors() {
        func message(_ mutate: (inout TrainConfig) -> Void) -> String {
            var c = Equivalence.defaultConfig
            mutate(&c)
            return TestSupport.message { try c.validate() }
        }
        let notDivisible = message { $0.layout.cp = 3 }  // seq-len 32 is not divisible by 6
        #expect(notDivisible.contains("2·cp = 6") && notDivisible.contains("valid cp for seq-len 32: 1, 2, 4, 8, 16"))
        let tooMany = message { $0.layout.cp = 32 }  // 64 chunks of a 32-position sequence
        #expect(tooMany.contains("not divisible by 64"))
        let heads = message { $0.layout.cp = 4; $0.layout.tp = 2; $0.layout.cpMode = .ulysses }
        #expect(heads.contains("heads 4 is not divisible") && heads.contains("valid cp with tp 2: 1, 2"))
        let sp = message { $0.model.seqLen = 40; $0.layout.cp = 4; $0.layout.tp = 4; $0.sp = true }
        #expect(sp.contains("seq-len / cp = 10") && sp.contains("cp 4, tp 4"))
        for text in [notDivisible, tooMany, heads, sp] { #expect(!text.contains("\n")) }
        var c = Self.cp(2, dp: 2)
        #expect(TestSupport.message { try c.requireWorldSize(2, underMPI: true) }.contains("mpirun -np 4"))
        c.layout.cp = 1
        #expect(TestSupport.message { try c.validate() } == "")
    }
}
