import Foundation
import Testing
import Tessera

/// The Topology's groups, written out by hand for small meshes, and the
/// runtime's groups and buckets agreeing with it.
@Suite struct TopologyTests {
    static func layout(_ name: String) throws -> Layout { try Layout(name: name) }

    @Test func denseGroupsOfDp2Cp2Tp2() throws {
        let t = try Topology(Self.layout("dp2×cp2×tp2"))  // order pp, dp, cp, tp: rank = 4d + 2c + t
        #expect(t.members(.tp, of: 5) == [4, 5])
        #expect(t.members(.cp, of: 5) == [5, 7])
        #expect(t.members(.dp, of: 5) == [1, 5])
        #expect(t.members(.dpcp, of: 5) == [1, 3, 5, 7])
        #expect(t.members(.pp, of: 5) == [5])
        #expect(t.members(.modelReplica, of: 5) == [4, 5])
        #expect(t.groups(.tp) == [[0, 1], [2, 3], [4, 5], [6, 7]])
        #expect(t.groups(.dpcp) == [[0, 2, 4, 6], [1, 3, 5, 7]])
    }

    /// ep 2 over dp 2 × cp 2: data index d·cp + c; ep groups are consecutive indices
    /// {0,1}, {2,3}; expert-data groups the indices congruent mod 2.
    @Test func expertGroupsAreAViewOfTheDataIndex() throws {
        var l = try Self.layout("dp2×cp2×ep2")
        l.ep = 2
        let t = try Topology(l)  // rank = 2d + c = data index (tp 1, pp 1)
        #expect(t.members(.ep, of: 0) == [0, 1] && t.members(.ep, of: 3) == [2, 3])
        #expect(t.members(.expertData, of: 0) == [0, 2] && t.members(.expertData, of: 3) == [1, 3])
        #expect((0..<4).map(t.expertRank) == [0, 1, 0, 1])
        #expect(t.members(.modelReplica, of: 2) == [2, 3])
        #expect(t.size(.expertData) == 2 && t.size(.modelReplica) == 2)
        // Every group's size is what `size` says, for every rank.
        for kind in GroupKind.allCases where kind != .embedding {
            #expect((0..<t.worldSize).allSatisfy { t.members(kind, of: $0).count == t.size(kind) }, "\(kind)")
        }
    }

    @Test func theTiedEmbeddingJoinsTheFirstAndLastStage() throws {
        let t = try Topology(Self.layout("pp4(1f1b)×tp2"))  // rank = 2p + t
        #expect(t.members(.embedding, of: 1) == [1, 7] && t.members(.embedding, of: 7) == [1, 7])
        #expect(t.members(.embedding, of: 3) == [3])
    }

    @Test func nodesAreConsecutiveRanksAndSpanningGroupsAreNamed() throws {
        let t = try Topology(Self.layout("dp2×tp2"), ranksPerNode: 2)
        #expect(t.nodes == 2 && (0..<4).map(t.node) == [0, 0, 1, 1])
        #expect(t.groupsSpanningNodes(.tp).isEmpty)
        #expect(t.groupsSpanningNodes(.dp) == [[0, 2], [1, 3]])
        #expect(TestSupport.message { _ = try Topology(Self.layout("dp2×tp2"), ranksPerNode: 3) }
            .contains("ranks per node 3 must divide the 4 ranks"))
    }

    /// The runtime's groups are the Topology's, and a bucket's ZeRO shard count is
    /// the size of the group its placement is replicated over.
    @Test func rankGroupsAndBucketsFollowTheTopology() throws {
        var c = TrainConfig()
        c.model = GPTConfig(vocab: 256, seqLen: 16, layers: 2, dModel: 32, heads: 4, dropout: 0)
        c.model.experts = 4; c.model.topK = 2
        c.layout = try Layout(name: "dp4×ep2+zero1")
        c.layout.ep = 2
        c.batch = 8
        let data = try TokenDataset.builtIn(seqLen: 16)
        let topology = try Topology(c.layout), config = c
        try Launcher.run(config: config, backend: .threads) { groups in
            let r = groups.worldRank
            for kind in GroupKind.allCases {
                #expect(groups.group(kind).members == topology.members(kind, of: r), "\(kind) on rank \(r)")
            }
            let trainer = try Trainer(config: config, data: data, groups: groups)
            for p in trainer.parameters {
                #expect(topology.replicaGroup(of: p.placement, rank: r).count == (p.placement.isExpert ? 2 : 4))
            }
            for b in trainer.store.buckets {
                #expect(b.zero.ranks == topology.zeroShards(of: b.parameters[0].placement), "\(b.parameters[0].name)")
            }
        }
    }
}
