import CMPI
import TesseraSupport

/// Which ranks of an MPI job share a machine, as MPI itself knows it
/// (`MPI_Comm_split_type` with `MPI_COMM_TYPE_SHARED`: the ranks that can
/// share memory), rather than as the launcher's environment claims.
public struct MPINodes: Sendable, Equatable {
    /// The number of ranks on each node, indexed by node (nodes ordered by their lowest world rank).
    public let ranksOnNode: [Int]
    /// The node of each world rank (`nodeOf.count` = world size).
    public let nodeOf: [Int]

    /// Ranks per node when every node holds the same number of consecutive
    /// world ranks (what `--map-by slot` with equal slots gives, and what
    /// `Topology(layout, ranksPerNode:)` describes); nil otherwise.
    public var uniformRanksPerNode: Int? {
        guard let first = ranksOnNode.first, ranksOnNode.allSatisfy({ $0 == first }) else { return nil }
        return nodeOf.enumerated().allSatisfy { $0.element == $0.offset / first } ? first : nil
    }

    /// Nodes from the lowest world rank sharing a node with each rank: `leaders[r]`
    /// is the smallest world rank on rank r's node.
    public init(leaders: [Int]) {
        var index: [Int: Int] = [:], counts: [Int] = []
        var nodeOf: [Int] = []
        for leader in leaders {
            let n = index[leader] ?? { index[leader] = counts.count; counts.append(0); return counts.count - 1 }()
            counts[n] += 1
            nodeOf.append(n)
        }
        self.ranksOnNode = counts
        self.nodeOf = nodeOf
    }

    /// Asks MPI which ranks of `world` share this rank's machine, then shares
    /// every rank's answer (collective over `world`: every rank calls it).
    public static func of(_ world: MPIGroup) throws -> MPINodes {
        var nodeComm: MPI_Comm? = nil
        let rc = MPI_Comm_split_type(world.comm, tessera_mpi_comm_type_shared(), Int32(world.rank),
                                     tessera_mpi_info_null(), &nodeComm)
        guard rc == MPI_SUCCESS, let comm = nodeComm else {
            throw CommError("MPI_Comm_split_type(MPI_COMM_TYPE_SHARED) failed with code \(rc)")
        }
        // The node's lowest world rank names it: a MIN all-reduce over the node's ranks.
        var mine = Int64(world.worldRank), leader: Int64 = 0
        let reduced = MPI_Allreduce(&mine, &leader, 1, tessera_mpi_int64(), tessera_mpi_min(), comm)
        MPI_Comm_free(&nodeComm)
        guard reduced == MPI_SUCCESS else { throw CommError("MPI_Allreduce over this node's ranks failed with code \(reduced)") }
        return MPINodes(leaders: try world.allGather([Int(leader)]))
    }
}
