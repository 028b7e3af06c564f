import TesseraKernels
import TesseraComm

/// The all-to-alls of expert parallelism for one micro-batch of one
/// mixture-of-experts block. Each rank has its kept choices' rows sorted by
/// global expert ([M, d], `counts[e]` rows for expert e); since rank q holds
/// experts q·El ..< (q+1)·El, the rows for rank q are contiguous.
///
/// Built once per forward: an integer all-to-all tells every rank how many
/// rows each source sends to each of its local experts. `dispatch` sends the
/// rows (a variable all-to-all) and regroups what arrives from
/// source-major to local-expert-major, so each local expert's rows are
/// contiguous ([n_j, d], sources in rank order); `combine` undoes both.
/// Backward uses the same pair on the gradients: the gradient of the
/// expert outputs goes out through `dispatch`, that of the expert inputs
/// comes back through `combine`. A group of one moves nothing.
public struct TokenExchange {
    let ep: ExpertParallel
    /// Rows this rank sends to each global expert [E].
    let sent: [Int]
    /// Rows each source rank sends to each local expert, source-major [ep · El].
    let received: [Int]
    /// Local experts per rank.
    let local: Int

    /// Exchanges the per-expert row counts `counts` [E] across the group (collective).
    public init(counts: [Int], ep: ExpertParallel) throws {
        self.ep = ep
        sent = counts
        local = counts.count / ep.size
        guard ep.size > 1 else { received = counts; return }
        var send = counts.map(Int64.init), recv = [Int64](repeating: 0, count: counts.count)
        try send.withUnsafeMutableBufferPointer { s in
            try recv.withUnsafeMutableBufferPointer { r in
                try ep.group.allToAll(CommBuffer(s.baseAddress!, count: s.count), into: CommBuffer(r.baseAddress!, count: r.count))
            }
        }
        received = recv.map(Int.init)
    }

    /// Rows of each local expert after `dispatch` [El].
    public var expertRows: [Int] {
        (0..<local).map { j in (0..<ep.size).reduce(0) { $0 + received[$1 * local + j] } }
    }

    /// This rank's rows by global expert [M, d] → the rows of its local experts,
    /// local-expert-major [Σ expertRows, d] (collective).
    public func dispatch(_ x: Tensor) throws -> Tensor {
        guard ep.size > 1 else { return x }
        let d = x.shape[1]
        let arrived = Tensor(uninitialized: [received.reduce(0, +), d])
        try ep.group.allToAll(x.data, sendCounts: perRank(sent).map { $0 * d }, into: arrived.data,
                              recvCounts: perRank(received).map { $0 * d })
        return regroup(arrived, from: received, sourceMajor: true)
    }

    /// The local experts' rows [Σ expertRows, d] → this rank's rows by global expert [M, d] (collective).
    public func combine(_ y: Tensor) throws -> Tensor {
        guard ep.size > 1 else { return y }
        let d = y.shape[1]
        let bySource = regroup(y, from: received, sourceMajor: false)
        let back = Tensor(uninitialized: [sent.reduce(0, +), d])
        try ep.group.allToAll(bySource.data, sendCounts: perRank(received).map { $0 * d }, into: back.data,
                              recvCounts: perRank(sent).map { $0 * d })
        return back
    }

    /// Rows per rank of a per-(rank, local expert) count list.
    func perRank(_ counts: [Int]) -> [Int] {
        (0..<ep.size).map { q in counts[(q * local)..<((q + 1) * local)].reduce(0, +) }
    }

    /// Reorders blocks of rows counted by `counts` [ep · El] (source-major)
    /// between source-major and local-expert-major order.
    func regroup(_ x: Tensor, from counts: [Int], sourceMajor: Bool) -> Tensor {
        let d = x.shape[1], out = Tensor(uninitialized: x.shape)
        // Start row of each (source q, expert j) block in both orders.
        var sourceStart = [Int](repeating: 0, count: counts.count), expertStart = sourceStart
        var at = 0
        for i in counts.indices { sourceStart[i] = at; at += counts[i] }
        at = 0
        for j in 0..<local { for q in 0..<ep.size { expertStart[q * local + j] = at; at += counts[q * local + j] } }
        for i in counts.indices where counts[i] > 0 {
            let (from, to) = sourceMajor ? (sourceStart[i], expertStart[i]) : (expertStart[i], sourceStart[i])
            (out.data + to * d).update(from: x.data + from * d, count: counts[i] * d)
        }
        return out
    }
}
