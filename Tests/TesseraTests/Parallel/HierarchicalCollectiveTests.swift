import Foundation
import Synchronization
import Testing
import Tessera

/// Two-level collectives (`HierarchicalGroup`) on a topology of 2 nodes × 2
/// thread ranks: every collective equals the flat one (exactly, on
/// integer-valued sums), and dp4 with ZeRO-3 over them trains like one rank.
@Suite struct HierarchicalCollectiveTests {
    static func topology(dp: Int = 4, zero: Int = 0, perNode: Int = 2) throws -> Topology {
        var layout = Layout()
        layout.dp = dp; layout.zero = zero
        return try Topology(layout, ranksPerNode: perNode)
    }

    @Test func levelsComeFromTheTopology() throws {
        let t = try Self.topology()
        #expect(t.hierarchy(.dpcp, of: 0)! == ([0, 1], [0, 2]))
        #expect(t.hierarchy(.dpcp, of: 3)! == ([2, 3], [1, 3]))
        #expect(try Self.topology(perNode: 4).hierarchy(.dpcp, of: 0) == nil)  // one node
        #expect(try Self.topology(perNode: 1).hierarchy(.dpcp, of: 0) == nil)  // one rank per node: flat
        var dp2tp2 = Layout()
        dp2tp2.dp = 2; dp2tp2.tp = 2
        #expect(try Topology(dp2tp2, ranksPerNode: 2).hierarchy(.dp, of: 0) == nil)  // dp [0, 2]: one per node
    }

    /// All-reduce, reduce-scatter and all-gather of 96 Ki floats (past the
    /// two-level threshold) and of 12 (flat) equal the flat group's results exactly.
    @Test(arguments: [98_304, 12])
    func collectivesEqualTheFlatGroup(count: Int) throws {
        let topology = try Self.topology()
        let failures = Mutex<[String]>([])
        @Sendable func check(_ ok: Bool, _ what: String) { if !ok { failures.withLock { $0.append(what) } } }
        try ThreadWorld.run(size: 4) { world in
            let groups = try RankGroups(topology, world: world)
            let r = groups.worldRank
            check(groups.dpcp.inner is HierarchicalGroup, "rank \(r): dp×cp is not hierarchical")
            let g = groups.dpcp
            // Rank r's element i is (r + 1) · (i mod 7) − r: integer sums, exact in any order.
            func value(_ rank: Int, _ i: Int) -> Float { Float((rank + 1) * (i % 7) - rank) }
            let mine = (0..<count).map { value(r, $0) }
            let sum = (0..<count).map { i in (0..<4).reduce(Float(0)) { $0 + value($1, i) } }
            var buf = mine
            try buf.withUnsafeMutableBufferPointer { try g.allReduce($0.baseAddress!, count: count, op: .sum) }
            check(buf == sum, "rank \(r): all-reduce")
            let c = count / 4
            var shard = [Float](repeating: -1, count: c)
            try mine.withUnsafeBufferPointer { s in
                try shard.withUnsafeMutableBufferPointer { try g.reduceScatter(s.baseAddress!, total: count, into: $0.baseAddress!, op: .sum) }
            }
            check(shard == Array(sum[r * c ..< (r + 1) * c]), "rank \(r): reduce-scatter")
            var gathered = [Float](repeating: -1, count: count)
            let piece = (0..<c).map { value(r, $0) }
            try piece.withUnsafeBufferPointer { s in
                try gathered.withUnsafeMutableBufferPointer { try g.allGather(s.baseAddress!, count: c, into: $0.baseAddress!) }
            }
            check(gathered == (0..<count).map { value($0 / c, $0 % c) }, "rank \(r): all-gather")
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
    }

    /// dp4 ZeRO-3 on 2 nodes × 2: the gradient reduce-scatter and the weight
    /// all-gathers go in two levels; 3 steps equal one rank's to 1e-5 (loss) and 1e-4 (parameters).
    @Test func zero3AcrossTwoNodesTrainsLikeOneRank() throws {
        Compute.threads = 1
        let config = {
            var c = Equivalence.defaultConfig
            c.dp = 4; c.layout.zero = 3; c.steps = 3
            return c
        }()
        let data = try TokenDataset.builtIn(seqLen: config.model.seqLen)
        let topology = try Topology(config.layout, ranksPerNode: 2)
        let result = Mutex<(losses: [Double], params: [String: [Float]])?>(nil)
        try ThreadWorld.run(size: 4) { world in
            let groups = try RankGroups(topology, world: world)
            let trainer = try Trainer(config: config, data: data, groups: groups)
            let losses = try (0..<config.steps).map { _ in try trainer.trainStep().loss }
            let whole = try trainer.wholeParameters()
            if groups.worldRank == 0 { result.withLock { $0 = (losses, whole) } }
        }
        let (losses, params) = try #require(result.withLock { $0 })
        let serial = try Trainer(config: config.oneRank, data: data)
        for (k, loss) in losses.enumerated() {
            let one = try serial.trainStep().loss
            #expect(abs(loss - one) <= 1e-5 * abs(one), "step \(k): \(loss) vs one rank \(one)")
        }
        for p in serial.parameters {
            let a = params[p.name]!, b = p.value.array
            let diff = zip(a, b).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +).squareRoot()
            let norm = b.map { Double($0) * Double($0) }.reduce(0, +).squareRoot()
            #expect(diff <= 1e-4 * norm, "\(p.name): ‖Δ‖ \(diff) vs ‖w‖ \(norm)")
        }
    }
}
