/// One message of a batch of point-to-point operations (`ProcessGroup.exchange`).
public enum PointToPoint {
    /// Send [count] floats from `buffer` to group rank `peer` with `tag`.
    case send(UnsafePointer<Float>, count: Int, to: Int, tag: Int)
    /// Receive [count] floats into `buffer` from group rank `peer` with `tag`.
    case recv(UnsafeMutablePointer<Float>, count: Int, from: Int, tag: Int)
}

extension ProcessGroup {
    /// Sends `send` to `next` and receives `recv` from `previous` as one
    /// step (a ring step of ring attention or a ring all-reduce): every rank
    /// can call it at once without deadlock, because both backends' sends
    /// are eager (handed off without waiting for the receive).
    public func sendRecv(_ send: UnsafePointer<Float>, count: Int, to next: Int,
                         into recv: UnsafeMutablePointer<Float>, from previous: Int, tag: Int) throws {
        try exchange([.send(send, count: count, to: next, tag: tag), .recv(recv, count: count, from: previous, tag: tag)])
    }

    /// Runs a batch of sends and receives (torch's batch_isend_irecv): all
    /// sends first (eager), then the receives in order, so any set of ranks
    /// exchanging batches that match up completes without deadlock.
    public func exchange(_ operations: [PointToPoint]) throws {
        for case let .send(buffer, count, peer, tag) in operations { try send(buffer, count: count, to: peer, tag: tag) }
        for case let .recv(buffer, count, peer, tag) in operations { try recv(buffer, count: count, from: peer, tag: tag) }
    }
}
