import TesseraSupport

/// A group whose ranks sit on several nodes, k on each, that runs its large
/// all-reduces, reduce-scatters and all-gathers in two levels so that less
/// crosses the network (NCCL's and Horovod's hierarchical all-reduce):
/// within each node over shared memory, across nodes among the ranks with the
/// same place in their node (k streams of 1/k of the data each), then within
/// the node again. Everything else goes to the flat group.
///
/// Shapes are the flat group's: an all-reduce of S elements, a reduce-scatter
/// of S into this rank's chunk S/n, an all-gather of S/n into S (n = nodes · k,
/// group rank = node · k + local rank). For an all-reduce on 2 nodes each
/// node's uplink carries S (one all-reduce of S/k per stream) instead of a flat
/// ring's 2(n−1)/n · S; a reduce-scatter or all-gather carries (N−1)/N · S
/// instead of (n−1)/n · S · (crossing links). Messages under `minimumBytes`
/// (latency-bound) or not divisible by n stay flat. The results equal the
/// flat group's up to the order of floating-point sums. Started operations
/// that go hierarchical run to completion before returning (their request is
/// already complete): the two levels are blocking calls here.
public final class HierarchicalGroup: ObservedGroup, @unchecked Sendable {
    /// The ranks of this group on this rank's node (in group order).
    public let intra: ProcessGroup
    /// The ranks of this group with this rank's place in their node, one per node.
    public let inter: ProcessGroup
    /// Smallest message (bytes) sent in two levels.
    public var minimumBytes: Int

    /// `flat`'s operations in two levels over `intra` (k ranks) and `inter`
    /// (one per node); `flat`'s rank must be inter.rank · k + intra.rank.
    public init(flat: ProcessGroup, intra: ProcessGroup, inter: ProcessGroup, minimumBytes: Int = 64 << 10) throws {
        guard intra.size * inter.size == flat.size, flat.rank == inter.rank * intra.size + intra.rank else {
            throw CommError("group \(flat.name): \(inter.size) node(s) × \(intra.size) rank(s) do not place rank "
                            + "\(flat.rank) of \(flat.size) node-major")
        }
        self.intra = intra; self.inter = inter; self.minimumBytes = minimumBytes
        super.init(flat)
    }

    /// Whether a whole message of `buf`'s size goes in two levels.
    func twoLevels(_ whole: CommBuffer) -> Bool {
        intra.size > 1 && inter.size > 1 && whole.count % size == 0 && whole.byteCount >= minimumBytes
    }

    public override func allReduce(_ buf: CommBuffer, op: ReduceOp) throws {
        guard twoLevels(buf) else { return try inner.allReduce(buf, op: op) }
        let part = buf.count / intra.size
        let mine = buf.slice(intra.rank * part ..< (intra.rank + 1) * part)
        try intra.reduceScatter(buf, into: mine, op: op)
        if inter.size == 2 && mine.count >= 2 { try pairAllReduce(mine, op: op) } else { try inter.allReduce(mine, op: op) }
        try intra.allGather(mine, into: buf)
    }

    public override func reduceScatter(_ send: CommBuffer, into recv: CommBuffer, op: ReduceOp) throws {
        guard twoLevels(send) else { return try inner.reduceScatter(send, into: recv, op: op) }
        try checkReduceScatter(send, recv, op)
        let k = intra.size, nodes = inter.size, c = send.count / size
        // Chunk (node a, local l) moves to block l, place a: local rank l's intra chunk holds its chunks of every node.
        let scratch = Self.buffer(like: send, count: send.count), part = Self.buffer(like: send, count: nodes * c)
        defer { scratch.raw.deallocate(); part.raw.deallocate() }
        for a in 0..<nodes { for l in 0..<k { send.slice((a * k + l) * c ..< (a * k + l + 1) * c).copy(into: scratch.slice((l * nodes + a) * c ..< (l * nodes + a + 1) * c)) } }
        try intra.reduceScatter(scratch, into: part, op: op)
        try inter.reduceScatter(part, into: recv, op: op)
    }

    public override func allGather(_ send: CommBuffer, into recv: CommBuffer) throws {
        guard twoLevels(recv) else { return try inner.allGather(send, into: recv) }
        try checkAllGather(send, recv)
        let k = intra.size, nodes = inter.size, c = send.count
        let part = Self.buffer(like: send, count: nodes * c), scratch = Self.buffer(like: send, count: recv.count)
        defer { scratch.raw.deallocate(); part.raw.deallocate() }
        try inter.allGather(send, into: part)
        try intra.allGather(part, into: scratch)
        for a in 0..<nodes { for l in 0..<k { scratch.slice((l * nodes + a) * c ..< (l * nodes + a + 1) * c).copy(into: recv.slice((a * k + l) * c ..< (a * k + l + 1) * c)) } }
    }

    public override func startAllReduce(_ buf: CommBuffer, op: ReduceOp) throws -> CollectiveRequest {
        guard twoLevels(buf) else { return try inner.startAllReduce(buf, op: op) }
        try allReduce(buf, op: op)
        return .completed
    }

    public override func startReduceScatter(_ send: CommBuffer, into recv: CommBuffer, op: ReduceOp) throws -> CollectiveRequest {
        guard twoLevels(send) else { return try inner.startReduceScatter(send, into: recv, op: op) }
        try reduceScatter(send, into: recv, op: op)
        return .completed
    }

    public override func startAllGather(_ send: CommBuffer, into recv: CommBuffer) throws -> CollectiveRequest {
        guard twoLevels(recv) else { return try inner.startAllGather(send, into: recv) }
        try allGather(send, into: recv)
        return .completed
    }

    /// A scratch buffer of `count` elements of `like`'s dtype (the caller deallocates it).
    static func buffer(like: CommBuffer, count: Int) -> CommBuffer {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, count * like.dtype.size), alignment: 64)
        return CommBuffer(raw, like.dtype, count: count)
    }
}
