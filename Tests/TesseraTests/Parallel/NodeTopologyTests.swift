import Testing
import Tessera

/// Node boundaries in the topology: the default order keeps tp (then cp)
/// inside a node, the warning names exactly the tp groups that cross one,
/// and MPI's per-rank node leaders are read back as ranks per node.
@Suite struct NodeTopologyTests {
    /// Every mesh of up to 16 ranks on every node size that divides it: with the
    /// default order a tp group spans nodes exactly when tp does not divide the
    /// ranks per node, and a cp group exactly when tp·cp does not.
    @Test func defaultOrderKeepsTensorThenContextParallelWithinANode() throws {
        var checked = 0
        let shapes = [1, 2, 4].flatMap { dp in [1, 2].flatMap { pp in [1, 2].flatMap { cp in [1, 2, 4].map { tp in (dp, pp, cp, tp) } } } }
        for (dp, pp, cp, tp) in shapes where dp * pp * cp * tp <= 16 {
            var layout = Layout()
            layout.dp = dp; layout.pp = pp; layout.cp = cp; layout.tp = tp
            let world = layout.worldSize
            for perNode in 1...world where world % perNode == 0 {
                let t = try Topology(layout, ranksPerNode: perNode)
                #expect(t.groupsSpanningNodes(.tp).isEmpty == (perNode % tp == 0), "\(layout.name) on \(perNode)/node")
                #expect(t.groupsSpanningNodes(.cp).isEmpty == (perNode % (tp * cp) == 0 || cp == 1),
                        "\(layout.name) on \(perNode)/node")
                #expect((t.tensorParallelSpanWarning == nil) == (perNode % tp == 0))
                checked += 1
            }
        }
        #expect(checked > 40)
    }

    @Test func warningNamesTheCrossingGroupsAndTheDrawingShowsBoundaries() throws {
        var layout = Layout()
        layout.dp = 2; layout.tp = 2
        layout.order = [.pp, .cp, .tp, .dp]  // dp innermost: tp groups are ranks {0, 2} and {1, 3}
        let across = try Topology(layout, ranksPerNode: 2)
        #expect(across.tensorParallelSpanWarning?.hasPrefix("tessera: warning: tp groups [0, 2] [1, 3] span nodes (2 rank(s) per node)") == true)
        let inside = try Topology(layout.withDefaultOrder, ranksPerNode: 2)
        #expect(inside.tensorParallelSpanWarning == nil)
        let lines = inside.nodeLines()
        #expect(lines.first == "nodes: 2 × 2 rank(s)")
        #expect(lines.contains("  node 1 │ 2 (dp1 tp0) │ 3 (dp1 tp1) │"))
        #expect(lines.contains("  tp groups within nodes: [0, 1] [2, 3]"))
        #expect(lines.contains("  dp groups across nodes (2 of 2, over the network): [0, 2] [1, 3]"))
        #expect(try Topology(layout, ranksPerNode: 4).nodeLines().isEmpty)  // one node: nothing to draw
        #expect(throws: (any Error).self) { try Topology(layout, ranksPerNode: 3) }
    }

    @Test func mpiNodeLeadersGiveRanksPerNode() {
        #expect(MPINodes(leaders: [0, 0, 2, 2]).uniformRanksPerNode == 2)
        #expect(MPINodes(leaders: [0, 0, 0, 0]).uniformRanksPerNode == 4)
        #expect(MPINodes(leaders: [0, 1, 0, 1]).uniformRanksPerNode == nil)  // round-robin placement
        #expect(MPINodes(leaders: [0, 0, 0, 3]).uniformRanksPerNode == nil)  // 3 + 1
        #expect(MPINodes(leaders: [0, 1, 0, 1]).ranksOnNode == [2, 2])
        #expect(MPINodes(leaders: [0, 0, 0, 3]).nodeOf == [0, 0, 0, 1])
    }
}

private extension Layout {
    var withDefaultOrder: Layout { var l = self; l.order = DeviceMesh.defaultOrder; return l }
}
