import TesseraSupport
import TesseraComm
import TesseraTopology

/// The world of an MPI job on several nodes as a two-level group, for
/// `tessera bench comm --hierarchical`: flat vs hierarchical bus bandwidth of
/// the same collectives on the same ranks (every message in two levels,
/// whatever its size, so the table shows where the threshold belongs).
public enum HierarchicalCommBenchmark {
    /// The operations that have a two-level form.
    public static let ops: [CommBenchmark.Op] = [.allReduce, .reduceScatter, .allGather]

    /// `world` (every rank, one data-parallel group over its nodes) in two
    /// levels, with MPI's node boundaries. Collective: every rank calls it.
    /// Throws unless the job has at least 2 nodes of the same number (≥ 2) of consecutive ranks.
    public static func group(_ world: MPIGroup) throws -> HierarchicalGroup {
        let nodes = try MPINodes.of(world)
        guard let perNode = nodes.uniformRanksPerNode, nodes.ranksOnNode.count > 1, perNode > 1 else {
            throw ConfigError("--hierarchical needs ranks on 2 or more nodes, 2 or more on each, in equal blocks of "
                              + "consecutive ranks; MPI reports nodes of \(nodes.ranksOnNode) rank(s) "
                              + "(scripts/cluster.sh run places them so)")
        }
        var layout = Layout()
        layout.dp = world.size
        let topology = try Topology(layout, ranksPerNode: perNode)
        guard let (intra, inter) = topology.hierarchy(.dp, of: world.rank) else {
            throw ConfigError("the world of \(world.size) ranks has no two levels at \(perNode) rank(s) per node")
        }
        return try HierarchicalGroup(flat: world, intra: world.subgroup(members: intra, name: "node\(intra)"),
                                     inter: world.subgroup(members: inter, name: "across\(inter)"), minimumBytes: 0)
    }

    /// Times every op of `ops` this benchmark covers at every size of `sizes`,
    /// flat (one MPI collective over the world) and two-level, back to back,
    /// over the MPI world of this mpirun job (collective); rank 0 says each
    /// row, after a line naming the nodes and `preamble`. Finalizes MPI.
    public static func runMPI(ops: [CommBenchmark.Op], sizes: [Int], preamble: () -> Void,
                              say: (String) -> Void) throws {
        let world = try MPIGroup.world()
        let twoLevel = try group(world)
        if world.rank == 0 {
            say("\(twoLevel.inter.size) nodes × \(twoLevel.intra.size) ranks; flat: one MPI collective over all "
                + "ranks; 2-level: within the node, across nodes, within the node")
            preamble()
        }
        for op in ops where self.ops.contains(op) {
            for bytes in sizes {
                for (label, g) in [("flat", world as ProcessGroup), ("2-level", twoLevel)] {
                    let t = try CommBenchmark.time(op, group: g, bytes: bytes, iterations: CommBenchmark.iterations(for: bytes))
                    let row = CommBenchmark.Row(op: op, ranks: world.size, bytes: bytes, seconds: t)
                    if world.rank == 0 { say(CommBenchmark.format(row, backend: label)) }
                }
            }
        }
        MPIGroup.finalize()
    }
}
