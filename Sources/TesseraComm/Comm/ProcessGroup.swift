import TesseraSupport

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
/// order with agreeing sizes and dtypes; a mismatch, a missing rank or a
/// failed rank is a thrown `CommError` on every member, never a hang.
///
/// Buffers are typed (`CommBuffer`: float32, bfloat16, int32 or int64; how
/// each dtype reduces is in `ElementReduction`); the float32-pointer forms of
/// every operation (`ProcessGroup+Float.swift`) are conveniences over these.
/// A group of one rank returns at once and copies nothing (except from a
/// send buffer into a distinct receive buffer).
///
/// A conformer implements the typed operations below; shapes are checked by
/// the `check…` helpers here before any communication.
public protocol ProcessGroup: AnyObject, Sendable {
    /// This rank's index in the group, 0..<size.
    var rank: Int { get }
    /// Number of ranks.
    var size: Int { get }
    /// Human-readable name, e.g. "world" or "tp[0,1]" (used in errors).
    var name: String { get }
    /// Global (world) rank of each member, in group order.
    var members: [Int] { get }

    /// In place: buf[i] ← op over ranks of buf[i]. Same count and dtype on every rank.
    func allReduce(_ buf: CommBuffer, op: ReduceOp) throws
    /// `allReduce` started without waiting: returns at once with a request
    /// whose `wait()` returns when buf holds the result (MPI's non-blocking
    /// all-reduce; the thread backend runs it off the calling thread).
    /// Requests on one group complete in the order they were started, and a
    /// blocking collective on the group waits for them first.
    func startAllReduce(_ buf: CommBuffer, op: ReduceOp) throws -> CollectiveRequest
    /// recv[q·n ..< (q+1)·n] ← send of rank q, n = send.count; recv.count = size·n.
    func allGather(_ send: CommBuffer, into recv: CommBuffer) throws
    /// `allGather` started without waiting (see `startAllReduce`); in place when send is recv's slice at rank·n.
    func startAllGather(_ send: CommBuffer, into recv: CommBuffer) throws -> CollectiveRequest
    /// `reduceScatter` started without waiting (see `startAllReduce`); in place when recv is send's chunk(rank).
    func startReduceScatter(_ send: CommBuffer, into recv: CommBuffer, op: ReduceOp) throws -> CollectiveRequest
    /// send: [total] on every rank; rank r receives op over ranks of
    /// send[chunk r], chunk r = [total·r/size, total·(r+1)/size) (sizes may
    /// differ by one); recv.count = that chunk's size.
    func reduceScatter(_ send: CommBuffer, into recv: CommBuffer, op: ReduceOp) throws
    /// Equal splits, n = send.count / size: recv[q·n ..< (q+1)·n] ←
    /// send_q[rank·n ..< (rank+1)·n]. send.count = recv.count, a multiple of size.
    func allToAll(_ send: CommBuffer, into recv: CommBuffer) throws
    /// `allToAll` (equal splits) started without waiting (see `startAllReduce`).
    func startAllToAll(_ send: CommBuffer, into recv: CommBuffer) throws -> CollectiveRequest
    /// Variable splits (MoE routing): this rank sends sendCounts[q] elements
    /// to rank q (consecutive in `send`, send.count = their sum) and receives
    /// recvCounts[q] from rank q (consecutive in `recv`, recv.count = their
    /// sum); recvCounts[q] must equal rank q's sendCounts[rank].
    func allToAll(_ send: CommBuffer, sendCounts: [Int], into recv: CommBuffer, recvCounts: [Int]) throws
    /// buf ← root's buf.
    func broadcast(_ buf: CommBuffer, root: Int) throws
    /// `broadcast` started without waiting (see `startAllReduce`).
    func startBroadcast(_ buf: CommBuffer, root: Int) throws -> CollectiveRequest
    /// Sends buf to group rank `peer` with `tag` (returns once the data is handed off).
    func send(_ buf: CommBuffer, to peer: Int, tag: Int) throws
    /// Receives into buf from group rank `peer` with `tag`; the sender's count and dtype must match.
    func recv(_ buf: CommBuffer, from peer: Int, tag: Int) throws
    /// Returns when every member has called it.
    func barrier() throws
    /// Every rank's integers, concatenated in rank order (metadata such as token counts).
    func allGather(_ values: [Int]) throws -> [Int]
}

extension ProcessGroup {
    /// What a one-rank group does for gather/scatter/all-to-all: copy send
    /// into recv unless they are the same buffer.
    func copyAlone(_ send: CommBuffer, into recv: CommBuffer) { send.slice(0..<recv.count).copy(into: recv) }

    /// Throws unless every buffer has dtype `dtype`.
    func checkDType(_ op: String, _ buffers: CommBuffer...) throws {
        for b in buffers.dropFirst() where b.dtype != buffers[0].dtype {
            throw CommError("group \(name), \(op): send is \(buffers[0].dtype) but receive is \(b.dtype); "
                            + "both buffers must have one dtype")
        }
    }

    /// What every backend's reduction checks first: the operation is defined for the dtype.
    func checkReduction(_ op: ReduceOp, _ buf: CommBuffer, _ what: String) throws {
        try ElementReduction.check(op, buf.dtype, group: name, what)
    }

    /// allGather's shapes: one dtype, recv holds size × send.
    func checkAllGather(_ send: CommBuffer, _ recv: CommBuffer) throws {
        try checkDType("allGather", send, recv)
        guard recv.count == size * send.count else {
            throw CommError("group \(name), allGather: receive holds \(recv.count) elements, needs \(size) × \(send.count)")
        }
    }

    /// reduceScatter's shapes: one dtype, recv holds this rank's chunk.
    func checkReduceScatter(_ send: CommBuffer, _ recv: CommBuffer, _ op: ReduceOp) throws {
        try checkDType("reduceScatter", send, recv)
        try checkReduction(op, send, "reduceScatter")
        let mine = chunk(rank, of: send.count).count
        guard recv.count == mine else {
            throw CommError("group \(name), reduceScatter: receive holds \(recv.count) elements, but chunk \(rank) of "
                            + "\(send.count) has \(mine)")
        }
    }

    /// The equal all-to-all's shapes: one dtype, equal counts, divisible by size.
    func checkAllToAll(_ send: CommBuffer, _ recv: CommBuffer) throws {
        try checkDType("allToAll", send, recv)
        guard send.count == recv.count, send.count % size == 0 else {
            throw CommError("group \(name), allToAll: send \(send.count) and receive \(recv.count) elements must be "
                            + "equal and a multiple of \(size)")
        }
    }

    /// What every backend's variable all-to-all does first: checks that both
    /// count lists have one entry per rank and sum to the buffers' counts,
    /// and in a one-rank group does the whole exchange (the rank sends to
    /// itself). Returns true when done.
    func allToAllAlone(_ send: CommBuffer, sendCounts: [Int], into recv: CommBuffer, recvCounts: [Int]) throws -> Bool {
        try checkDType("allToAll", send, recv)
        guard sendCounts.count == size, recvCounts.count == size else {
            throw CommError("group \(name), allToAll: sendCounts and recvCounts need \(size) entries, got "
                            + "\(sendCounts.count) and \(recvCounts.count)")
        }
        guard sendCounts.reduce(0, +) == send.count, recvCounts.reduce(0, +) == recv.count,
              (sendCounts + recvCounts).allSatisfy({ $0 >= 0 }) else {
            throw CommError("group \(name), allToAll: counts \(sendCounts) / \(recvCounts) must be non-negative and sum "
                            + "to the buffers' \(send.count) / \(recv.count) elements")
        }
        guard size == 1 else { return false }
        guard sendCounts[0] == recvCounts[0] else {
            throw CommError("group \(name), allToAll: sends \(sendCounts[0]) to itself but expects \(recvCounts[0])")
        }
        copyAlone(send, into: recv)
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

    /// Throws unless `root` is a group rank.
    func checkRoot(_ root: Int) throws {
        guard (0..<size).contains(root) else {
            throw CommError("group \(name), broadcast: root \(root) is not a group rank (0..<\(size))")
        }
    }

    /// Boundaries of reduce-scatter chunk `r` of `total` elements.
    public func chunk(_ r: Int, of total: Int) -> Range<Int> { (total * r / size)..<(total * (r + 1) / size) }
}
