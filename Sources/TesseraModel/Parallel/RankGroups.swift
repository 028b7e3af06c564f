import Foundation
import TesseraComm
import TesseraTopology

/// The process groups one rank trains with, cut from the world by a
/// `DeviceMesh` (default order pp, dp, cp, tp: a tensor-parallel group is
/// consecutive ranks).
public struct RankGroups: Sendable {
    /// Every rank of the job.
    public let world: ProcessGroup
    public let mesh: DeviceMesh
    /// The tensor-parallel group and whether sequence parallelism is on.
    public let tp: TensorParallel
    /// The data-parallel group (each rank reads its share of the batch), counted.
    public let dp: CountingGroup
    /// The context-parallel group and its attention mode.
    public let cp: ContextParallel
    /// The data- and context-parallel ranks (dp × cp): every rank holding
    /// the same parameters, whose gradients and losses are partial sums over
    /// different tokens (Megatron's data-parallel group with context parallelism).
    public let dpcp: CountingGroup
    /// The pipeline group (point-to-point between stages), counted.
    public let pp: CountingGroup
    /// Every rank holding part of one model replica: pp × tp, × ep with expert parallelism.
    public let model: ModelReplica
    /// The expert-parallel group: consecutive dp × cp ranks (numbered dp-major), each holding E/ep experts.
    public let ep: ExpertParallel
    /// The expert-data-parallel group: the data-parallel ranks holding the
    /// same experts (one per expert-parallel group), over which the experts'
    /// gradients are summed (dp × cp itself when ep is 1).
    public let expertData: CountingGroup
    /// The first and the last pipeline stage of this rank's (dp, tp) column,
    /// which both hold the tied embedding (a group of one for middle stages or pp = 1).
    public let embedding: ProcessGroup

    /// The layout's topology, from which every group here is cut.
    public let topology: Topology

    /// Cuts this rank's groups of `topology` from `world` (collective: every
    /// rank calls it), one `world.subgroup` per group the topology names.
    /// `world.size` must equal the topology's world size.
    public init(_ topology: Topology, world: ProcessGroup & ProcessGroupFactory) throws {
        try topology.layout.requireWorldSize(world.size, underMPI: false)
        self.world = world
        self.topology = topology
        let layout = topology.layout, rank = world.worldRank
        func cut(_ kind: GroupKind) -> ProcessGroup {
            let members = topology.members(kind, of: rank)
            return world.subgroup(members: members, name: Self.label(kind, ep: layout.ep) + "\(members)")
        }
        // Data-parallel sums across nodes go in two levels where each node holds several of a group's ranks.
        func cutSummed(_ kind: GroupKind) throws -> ProcessGroup {
            let flat = cut(kind)
            guard let (intra, inter) = topology.hierarchy(kind, of: rank) else { return flat }
            let name = Self.label(kind, ep: layout.ep)
            return try HierarchicalGroup(flat: flat, intra: world.subgroup(members: intra, name: name + "\(intra)·node"),
                                         inter: world.subgroup(members: inter, name: name + "\(inter)·across"))
        }
        mesh = topology.mesh
        tp = TensorParallel(group: cut(.tp), sequenceParallel: layout.sp)
        dp = try CountingGroup(cutSummed(.dp))
        cp = ContextParallel(group: cut(.cp), mode: layout.cpMode)
        dpcp = try layout.cp == 1 ? dp : CountingGroup(cutSummed(.dpcp))
        pp = CountingGroup(cut(.pp))
        let expertTP = layout.expertTP > 1
        if layout.ep == 1 {
            ep = .single(splitsOverTP: expertTP)
            expertData = dpcp
            model = ModelReplica(group: cut(.modelReplica))
        } else {
            ep = ExpertParallel(group: cut(.ep), splitsOverTP: expertTP)
            expertData = try CountingGroup(cutSummed(.expertData))
            model = ModelReplica(group: cut(.modelReplica), expertRank: ep.rank)
        }
        embedding = cut(.embedding)
    }

    /// This rank's group of `kind` (the group objects above, by the topology's name for them).
    public func group(_ kind: GroupKind) -> ProcessGroup {
        switch kind {
        case .tp: tp.group
        case .cp: cp.group
        case .dp: dp
        case .pp: pp
        case .dpcp: dpcp
        case .ep: ep.group
        case .expertData: expertData
        case .modelReplica: model.group
        case .embedding: embedding
        }
    }

    /// The groups of `config`'s layout on one node.
    public init(config: TrainConfig, world: ProcessGroup & ProcessGroupFactory) throws {
        try self.init(Topology(config.layout), world: world)
    }

    /// A group's name in traces and errors: the mesh dimensions it varies along.
    static func label(_ kind: GroupKind, ep: Int) -> String {
        switch kind {
        case .tp, .cp, .dp, .pp, .ep: kind.rawValue
        case .dpcp: "dp×cp"
        case .expertData: "expert-dp"
        case .modelReplica: ep > 1 ? "pp×tp×ep" : "pp×tp"
        case .embedding: "embedding"
        }
    }

    /// One rank: every group of size one.
    public static func single() -> RankGroups {
        try! RankGroups(config: TrainConfig(), world: ThreadWorld(size: 1).worldGroup(rank: 0))
    }

    /// This rank's index in the world.
    public var worldRank: Int { world.members[world.rank] }

    /// Seconds spent in tensor- and data-parallel collectives since the last reset.
    public var commSeconds: Double {
        tp.group.seconds + dpcp.seconds + pp.seconds + (cp.size > 1 ? cp.group.seconds : 0)
            + (ep.size > 1 ? ep.group.seconds + expertData.seconds : 0)
    }

    /// Forgets the communication counts of the counted groups.
    public func resetCounts() {
        tp.group.reset(); dp.reset(); dpcp.reset(); cp.group.reset(); pp.reset(); ep.group.reset(); expertData.reset()
    }
}
