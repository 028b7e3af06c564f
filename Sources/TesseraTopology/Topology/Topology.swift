import TesseraSupport

/// A process group of a layout, named for what its members share.
public enum GroupKind: String, CaseIterable, Sendable, Codable {
    /// Tensor-parallel ranks: one model shard each (heads, MLP units, vocabulary).
    case tp
    /// Context-parallel ranks: each holds 2 of the 2·cp chunks of every sequence.
    case cp
    /// Data-parallel ranks: each reads batch / dp sequences.
    case dp
    /// Pipeline ranks: one stage each, point-to-point in a line.
    case pp
    /// dp × cp: every rank holding the same dense parameters, whose gradients
    /// are partial sums over different tokens (reduced here; ZeRO shards here).
    case dpcp
    /// Expert-parallel ranks: ep consecutive dp × cp ranks (numbered dp-major), E/ep experts each.
    case ep
    /// Expert-data-parallel ranks: the dp × cp ranks holding the same experts
    /// (one per expert-parallel group), over which expert gradients are reduced.
    case expertData
    /// Every rank holding part of one model replica: pp × tp, × ep with expert parallelism.
    case modelReplica
    /// The first and the last pipeline stage of one (dp, cp, tp) column, which
    /// both hold the tied token embedding (one rank for middle stages or pp = 1).
    case embedding
}

/// Where every rank of a layout sits, and every question about groups,
/// nodes and validity answered in one place (picotron's one grid; torchtitan's
/// `parallel_dims.py`, whose sparse expert mesh is a view of the dense one).
///
/// The dense mesh is dp × pp × cp × tp in `layout.order` (`DeviceMesh`). The
/// expert view flattens (dp, cp) dp-major into d·cp + c and reshapes it as
/// (expert-data, ep) with ep fastest: an expert-parallel group is ep
/// consecutive data indices, an expert-data group the indices congruent
/// modulo ep. Every group is computed directly from coordinates (no scan of
/// the world), so a 65,536-rank mesh costs microseconds per group.
public struct Topology: Sendable, Equatable {
    public let layout: Layout
    public let mesh: DeviceMesh
    /// Ranks that share one machine (consecutive world ranks); the world size when there is one node.
    public let ranksPerNode: Int

    /// The topology of a layout's mesh (not yet checked against a model: see `validate`).
    /// `ranksPerNode` must divide the world size (nil: one node).
    public init(_ layout: Layout, ranksPerNode: Int? = nil) throws {
        try layout.validateMesh()
        self.layout = layout
        mesh = try DeviceMesh(layout)
        let world = layout.worldSize, perNode = ranksPerNode ?? world
        guard perNode >= 1, world % perNode == 0 else {
            throw ConfigError("ranks per node \(perNode) must divide the \(world) ranks of layout \(layout.name)")
        }
        self.ranksPerNode = perNode
    }

    /// Ranks in the job: dp · pp · cp · tp.
    public var worldSize: Int { mesh.worldSize }
    /// Machines the job spans.
    public var nodes: Int { worldSize / ranksPerNode }

    /// The size of a group of `kind`.
    public func size(_ kind: GroupKind) -> Int { Self.size(kind, of: layout) }

    /// The size of a group of `kind` in `layout` (what the cost model divides by:
    /// ZeRO shards dense states over `.dpcp` and an expert's over `.expertData`).
    public static func size(_ kind: GroupKind, of layout: Layout) -> Int {
        switch kind {
        case .tp: layout.tp
        case .cp: layout.cp
        case .dp: layout.dp
        case .pp: layout.pp
        case .dpcp: layout.dp * layout.cp
        case .ep: layout.ep
        case .expertData: layout.dp * layout.cp / layout.ep
        case .modelReplica: layout.pp * layout.tp * layout.ep
        case .embedding: layout.pp == 1 ? 1 : 2
        }
    }

    /// The dense coordinates (dp, pp, cp, tp) of `rank`.
    public func coordinates(of rank: Int) -> [MeshDim: Int] { mesh.coordinates(of: rank) }

    /// `rank`'s place among the dp × cp ranks, numbered dp-major: d·cp + c.
    public func dataIndex(of rank: Int) -> Int {
        let c = mesh.coordinates(of: rank)
        return c[.dp]! * layout.cp + c[.cp]!
    }

    /// `rank`'s coordinate in its expert-parallel group (which E/ep experts it holds).
    public func expertRank(of rank: Int) -> Int { dataIndex(of: rank) % layout.ep }

    /// The world rank with `rank`'s pp and tp coordinates at data index `index`.
    private func rank(_ rank: Int, atDataIndex index: Int) -> Int {
        var c = mesh.coordinates(of: rank)
        c[.dp] = index / layout.cp
        c[.cp] = index % layout.cp
        return mesh.rank(at: c)
    }

    /// The members (world ranks, ascending) of `rank`'s group of `kind`.
    public func members(_ kind: GroupKind, of rank: Int) -> [Int] {
        switch kind {
        case .tp: return mesh.groupMembers(of: rank, along: [.tp])
        case .cp: return mesh.groupMembers(of: rank, along: [.cp])
        case .dp: return mesh.groupMembers(of: rank, along: [.dp])
        case .pp: return mesh.groupMembers(of: rank, along: [.pp])
        case .dpcp: return mesh.groupMembers(of: rank, along: [.dp, .cp])
        case .ep:
            let first = dataIndex(of: rank) / layout.ep * layout.ep
            return (first ..< first + layout.ep).map { self.rank(rank, atDataIndex: $0) }.sorted()
        case .expertData:
            let e = expertRank(of: rank)
            return stride(from: e, to: layout.dp * layout.cp, by: layout.ep).map { self.rank(rank, atDataIndex: $0) }.sorted()
        case .modelReplica:
            return members(.ep, of: rank).flatMap { mesh.groupMembers(of: $0, along: [.pp, .tp]) }.sorted()
        case .embedding:
            let line = mesh.groupMembers(of: rank, along: [.pp])
            let ends = Array(Set([line.first!, line.last!])).sorted()
            return ends.contains(rank) ? ends : [rank]
        }
    }

    /// Every distinct group of `kind`, each as ascending world ranks, in order of their first member.
    public func groups(_ kind: GroupKind) -> [[Int]] {
        var seen = Set<[Int]>(), out: [[Int]] = []
        for r in 0..<worldSize {
            let g = members(kind, of: r)
            if g.first == r, seen.insert(g).inserted { out.append(g) }
        }
        return out
    }

    /// The machine `rank` runs on (ranks fill nodes in order).
    public func node(of rank: Int) -> Int { rank / ranksPerNode }

    /// Whether the ranks of `members` sit on more than one node.
    public func spansNodes(_ members: [Int]) -> Bool { Set(members.map(node)).count > 1 }

    /// The groups of `kind` whose members sit on more than one node.
    public func groupsSpanningNodes(_ kind: GroupKind) -> [[Int]] { groups(kind).filter(spansNodes) }
}
