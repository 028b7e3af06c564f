import TesseraTopology

/// Time of collectives on a layout's mesh by the α–β model with ring
/// algorithms (Thakur et al. 2005; what NCCL and Tessera's backends run for
/// large messages), on the link the mesh order puts each group on.
///
/// For n ranks and a full buffer of S bytes (nccl-tests' convention):
/// all-reduce 2(n−1)·α + 2(n−1)/n · S/β; all-gather, reduce-scatter and
/// all-to-all (n−1)·α + (n−1)/n · S/β; a point-to-point message α + S/β.
/// A group along a dimension of stride r and size n spans r·n consecutive
/// ranks: within a node when that is at most the node's devices, else across nodes.
public struct CollectiveModel: Sendable {
    /// Collective operations.
    public enum Op: Sendable { case allReduce, allGather, reduceScatter, allToAll, pointToPoint }

    public let hardware: Hardware
    public let mesh: DeviceMesh
    /// Expert-parallel ranks: a sub-group of the data-parallel dimension.
    public let ep: Int

    public init(hardware: Hardware, layout: Layout) throws {
        self.hardware = hardware
        mesh = try DeviceMesh(layout)
        ep = layout.ep
    }

    /// The link a group along `dim` crosses.
    public func link(_ dim: MeshDim) -> Link {
        hardware.link(span: mesh.stride(dim) * mesh.size(dim))
    }

    /// Whether a group along `dim` stays within a node.
    public func isIntraNode(_ dim: MeshDim) -> Bool { mesh.stride(dim) * mesh.size(dim) <= hardware.gpusPerNode }

    /// Seconds for `op` on `bytes` (the full buffer) over `n` ranks on `link`.
    public static func seconds(_ op: Op, bytes: Double, ranks n: Int, link: Link) -> Double {
        guard n > 1 || op == .pointToPoint, bytes > 0 else { return 0 }
        let steps = Double(n - 1), share = Double(n - 1) / Double(n)
        switch op {
        case .allReduce: return 2 * steps * link.latency + 2 * share * bytes / link.bandwidth
        case .allGather, .reduceScatter, .allToAll: return steps * link.latency + share * bytes / link.bandwidth
        case .pointToPoint: return link.latency + bytes / link.bandwidth
        }
    }

    /// Seconds for `op` on `bytes` over the group along `dim`.
    public func seconds(_ op: Op, bytes: Double, along dim: MeshDim) -> Double {
        Self.seconds(op, bytes: bytes, ranks: op == .pointToPoint ? 2 : mesh.size(dim), link: link(dim))
    }

    /// Seconds for a gradient-sync collective over the data-parallel group (dp × cp ranks, dp's link when it is the slower).
    public func dataParallel(_ op: Op, bytes: Double) -> Double {
        let n = mesh.size(.dp) * mesh.size(.cp)
        let slow = isIntraNode(.dp) && isIntraNode(.cp) ? hardware.intraNode : hardware.interNode
        return Self.seconds(op, bytes: bytes, ranks: n, link: slow)
    }

    /// Seconds for an all-to-all among the expert-parallel ranks (consecutive data-parallel ranks).
    public func expertAllToAll(bytes: Double) -> Double {
        Self.seconds(.allToAll, bytes: bytes, ranks: ep, link: hardware.link(span: mesh.stride(.dp) * ep))
    }
}
