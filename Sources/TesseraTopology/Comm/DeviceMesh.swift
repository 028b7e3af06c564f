import TesseraSupport
import TesseraComm

/// The parallel dimensions a rank can sit on.
public enum MeshDim: String, CaseIterable, Sendable, Codable {
    case dp, pp, cp, tp
}

/// A named multi-dimensional grid of ranks (Megatron's "rank generator").
///
/// `order` lists dimensions from outermost (slowest-varying) to innermost
/// (fastest-varying); the default pp, dp, cp, tp keeps a tensor-parallel
/// group on consecutive ranks (one node), as Megatron does. The rank of
/// coordinates c is Σ c[d]·stride[d] with the innermost stride 1.
public struct DeviceMesh: Sendable, Equatable {
    /// Size of each dimension (1 when unused).
    public let sizes: [MeshDim: Int]
    /// Outermost first.
    public let order: [MeshDim]

    /// Default dimension order: pp outermost, then dp, cp, tp fastest.
    public static let defaultOrder: [MeshDim] = [.pp, .dp, .cp, .tp]

    public init(dp: Int = 1, pp: Int = 1, cp: Int = 1, tp: Int = 1, order: [MeshDim] = DeviceMesh.defaultOrder) throws {
        let sizes: [MeshDim: Int] = [.dp: dp, .pp: pp, .cp: cp, .tp: tp]
        for d in MeshDim.allCases where sizes[d]! < 1 {
            throw ConfigError("mesh dimension \(d.rawValue) must be at least 1, got \(sizes[d]!)")
        }
        guard Set(order) == Set(MeshDim.allCases), order.count == MeshDim.allCases.count else {
            throw ConfigError("mesh order must list each of dp, pp, cp, tp once, got \(order.map(\.rawValue).joined(separator: ","))")
        }
        self.sizes = sizes
        self.order = order
    }

    /// Total ranks: the product of all dimensions.
    public var worldSize: Int { sizes.values.reduce(1, *) }

    /// Size of dimension `d`.
    public func size(_ d: MeshDim) -> Int { sizes[d]! }

    /// Distance in ranks between neighbours along `d`.
    public func stride(_ d: MeshDim) -> Int {
        order.suffix(from: order.firstIndex(of: d)! + 1).reduce(1) { $0 * sizes[$1]! }
    }

    /// Coordinates of `rank`.
    public func coordinates(of rank: Int) -> [MeshDim: Int] {
        Dictionary(uniqueKeysWithValues: MeshDim.allCases.map { ($0, rank / stride($0) % sizes[$0]!) })
    }

    /// The rank at `coords` (missing dimensions are 0).
    public func rank(at coords: [MeshDim: Int]) -> Int {
        MeshDim.allCases.reduce(0) { $0 + (coords[$1] ?? 0) * stride($1) }
    }

    /// Members (world ranks, ascending) of the group of `rank` that varies
    /// along `dims` and holds every other coordinate fixed: e.g. [.tp] is the
    /// tensor-parallel group, [.dp, .cp] the gradient-reduction group.
    public func groupMembers(of rank: Int, along dims: [MeshDim]) -> [Int] {
        let c = coordinates(of: rank)
        var ranks = [self.rank(at: c.filter { !dims.contains($0.key) })]
        for d in dims {
            ranks = ranks.flatMap { base in (0..<sizes[d]!).map { base + $0 * stride(d) } }
        }
        return ranks.sorted()
    }

    /// Every distinct group along `dims`, each as ascending world ranks.
    public func allGroups(along dims: [MeshDim]) -> [[Int]] {
        var seen = Set<[Int]>(), out: [[Int]] = []
        for r in 0..<worldSize {
            let g = groupMembers(of: r, along: dims)
            if seen.insert(g).inserted { out.append(g) }
        }
        return out
    }

    /// The process group along `dims` for the rank that owns `world`.
    public func group(_ dims: [MeshDim], world: ProcessGroupFactory) -> ProcessGroup {
        let members = groupMembers(of: world.worldRank, along: dims)
        return world.subgroup(members: members, name: dims.map(\.rawValue).joined(separator: "×") + "\(members)")
    }
}
