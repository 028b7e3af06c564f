/// The point-to-point tag space every backend accepts: 0 ... `max`. MPI
/// guarantees tags up to 32,767 only, and the MPI backend sends a header and
/// the data of one message under tags 2·tag and 2·tag + 1.
public enum MessageTag {
    /// Largest tag a `send` or `recv` may use.
    public static let max = 16_383

}

/// How a reduction combines the ranks' values.
public enum ReduceOp: String, Sendable {
    case sum, average, max
}

/// A set of ranks that communicate: the whole world, or one dimension of a
/// device mesh. Every collective must be called by all members in the same
/// order with agreeing sizes; a mismatch, a missing rank or a failed rank is
/// a thrown `CommError` on every member, never a hang.
///
/// Buffers are float32 unless noted. A group of one rank returns at once and
/// copies nothing (except from a send buffer into a distinct receive buffer).
public protocol ProcessGroup: AnyObject, Sendable {
    /// This rank's index in the group, 0..<size.
    var rank: Int { get }
    /// Number of ranks.
    var size: Int { get }
    /// Human-readable name, e.g. "world" or "tp[0,1]" (used in errors).
    var name: String { get }
    /// Global (world) rank of each member, in group order.
    var members: [Int] { get }

    /// In place: buf[i] ← op over ranks of buf[i]. buf: [count], same count on every rank.
    func allReduce(_ buf: UnsafeMutablePointer<Float>, count: Int, op: ReduceOp) throws
    /// `allReduce` started without waiting: returns at once with a request
    /// whose `wait()` returns when buf holds the result (MPI's non-blocking
    /// all-reduce; the thread backend runs it off the calling thread).
    /// Requests on one group complete in the order they were started, and a
    /// blocking collective on the group waits for them first.
    func startAllReduce(_ buf: UnsafeMutablePointer<Float>, count: Int, op: ReduceOp) throws -> CollectiveRequest
    /// recv[q·count ..< (q+1)·count] ← send of rank q. send: [count]; recv: [size·count].
    func allGather(_ send: UnsafePointer<Float>, count: Int, into recv: UnsafeMutablePointer<Float>) throws
    /// send: [total] on every rank; rank r receives op over ranks of
    /// send[chunk r], chunk r = [total·r/size, total·(r+1)/size) (sizes may differ by one).
    func reduceScatter(_ send: UnsafePointer<Float>, total: Int, into recv: UnsafeMutablePointer<Float>,
                       op: ReduceOp) throws
    /// Equal splits: recv[q·count ..< (q+1)·count] ← send_q[rank·count ..< (rank+1)·count].
    /// send, recv: [size·count].
    func allToAll(_ send: UnsafePointer<Float>, count: Int, into recv: UnsafeMutablePointer<Float>) throws
    /// Variable splits (MoE routing): this rank sends sendCounts[q] floats to
    /// rank q (consecutive in `send`) and receives recvCounts[q] from rank q
    /// (consecutive in `recv`); recvCounts[q] must equal rank q's sendCounts[rank].
    func allToAll(_ send: UnsafePointer<Float>, sendCounts: [Int], into recv: UnsafeMutablePointer<Float>,
                  recvCounts: [Int]) throws
    /// buf ← root's buf. buf: [count].
    func broadcast(_ buf: UnsafeMutablePointer<Float>, count: Int, root: Int) throws
    /// Sends [count] floats to group rank `peer` with `tag` (returns once the data is handed off).
    func send(_ buf: UnsafePointer<Float>, count: Int, to peer: Int, tag: Int) throws
    /// Receives [count] floats from group rank `peer` with `tag`; the sender's count must match.
    func recv(_ buf: UnsafeMutablePointer<Float>, count: Int, from peer: Int, tag: Int) throws
    /// Returns when every member has called it.
    func barrier() throws
    /// Every rank's integers, concatenated in rank order (metadata such as token counts).
    func allGather(_ values: [Int]) throws -> [Int]
}

extension ProcessGroup {
    /// allReduce on a whole tensor.
    public func allReduce(_ t: Tensor, op: ReduceOp = .sum) throws { try allReduce(t.data, count: t.count, op: op) }
    /// broadcast of a whole tensor.
    public func broadcast(_ t: Tensor, root: Int) throws { try broadcast(t.data, count: t.count, root: root) }

    /// What a one-rank group does for gather/scatter/all-to-all: copy send
    /// into recv unless they are the same buffer.
    func copyAlone(_ send: UnsafePointer<Float>, into recv: UnsafeMutablePointer<Float>, count: Int) {
        if recv != UnsafeMutablePointer(mutating: send) { recv.update(from: send, count: count) }
    }

    /// What every backend's variable all-to-all does first: checks that both
    /// count lists have one entry per rank, and in a one-rank group does the
    /// whole exchange (the rank sends to itself). Returns true when done.
    func allToAllAlone(_ send: UnsafePointer<Float>, sendCounts: [Int], into recv: UnsafeMutablePointer<Float>,
                       recvCounts: [Int]) throws -> Bool {
        guard sendCounts.count == size, recvCounts.count == size else {
            throw CommError("group \(name), allToAll: sendCounts and recvCounts need \(size) entries, got "
                            + "\(sendCounts.count) and \(recvCounts.count)")
        }
        guard size == 1 else { return false }
        guard sendCounts[0] == recvCounts[0] else {
            throw CommError("group \(name), allToAll: sends \(sendCounts[0]) to itself but expects \(recvCounts[0])")
        }
        copyAlone(send, into: recv, count: sendCounts[0])
        return true
    }

    /// What every backend's send and recv check first: the peer is another
    /// group rank and the tag is within `MessageTag.max`.
    func checkPointToPoint(peer: Int, tag: Int, _ op: String) throws {
        guard (0..<size).contains(peer), peer != rank else {
            throw CommError("group \(name), \(op): peer \(peer) must be another group rank in 0..<\(size)")
        }
        guard (0...MessageTag.max).contains(tag) else {
            throw CommError("group \(name), \(op): tag \(tag) is outside 0...\(MessageTag.max) (MPI guarantees "
                            + "tags up to 32767 and Tessera uses two per message)")
        }
    }

    /// Boundaries of reduce-scatter chunk `r` of `total` elements.
    public func chunk(_ r: Int, of total: Int) -> Range<Int> { (total * r / size)..<(total * (r + 1) / size) }
}
