import TesseraSupport

/// The inter-node step of a two-level all-reduce on exactly two nodes.
///
/// Each of the k streams all-reduces its 1/k share (`mine`, m elements)
/// with its partner on the other node as a ring of two: each rank sends the
/// half its partner finishes while receiving the half it finishes, combines
/// them, then the two trade their finished halves. Each direction of the
/// link carries m per stream (m/2 in each exchange), both directions at
/// once: the least an all-reduce of m between two ranks moves, whatever
/// algorithm the MPI library would pick for two ranks. The sends are eager (a copy
/// handed to MPI_Isend), so the two ranks never wait for each other to post.
/// Results are the same on both ranks (each half is computed once and copied).
/// BENCHMARKS.md (issue 26) has what it measured beside MPI_Allreduce.
extension HierarchicalGroup {
    /// Point-to-point tags of the two exchanges (the inter group carries nothing else).
    static let pairTags = (scatter: 1, gather: 2)

    /// `mine` ← op over the two nodes' `mine` (inter.size must be 2).
    func pairAllReduce(_ mine: CommBuffer, op: ReduceOp) throws {
        let peer = 1 - inter.rank, half = mine.count / 2
        let low = mine.slice(0 ..< half), high = mine.slice(half ..< mine.count)
        let (keep, give) = inter.rank == 0 ? (low, high) : (high, low)
        let incoming = Self.buffer(like: mine, count: keep.count)
        defer { incoming.raw.deallocate() }
        try inter.send(give, to: peer, tag: Self.pairTags.scatter)
        try inter.recv(incoming, from: peer, tag: Self.pairTags.scatter)
        ElementReduction.combine(incoming.raw, into: keep.raw, count: keep.count, dtype: mine.dtype, op: op)
        if op == .average { ElementReduction.divide(keep.raw, count: keep.count, dtype: keep.dtype, by: 2) }
        try inter.send(keep, to: peer, tag: Self.pairTags.gather)
        try inter.recv(give, from: peer, tag: Self.pairTags.gather)
    }
}
