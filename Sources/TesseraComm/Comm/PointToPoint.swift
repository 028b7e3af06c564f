/// One message of a batch of point-to-point operations (`ProcessGroup.exchange`).
public enum PointToPoint {
    /// Send `buffer` to group rank `peer` with `tag`.
    case send(CommBuffer, to: Int, tag: Int)
    /// Receive into `buffer` from group rank `peer` with `tag`.
    case recv(CommBuffer, from: Int, tag: Int)

    /// Send [count] floats from `buffer` to group rank `peer` with `tag`.
    public static func send(_ buffer: UnsafePointer<Float>, count: Int, to peer: Int, tag: Int) -> PointToPoint {
        .send(CommBuffer(buffer, count: count), to: peer, tag: tag)
    }
    /// Receive [count] floats into `buffer` from group rank `peer` with `tag`.
    public static func recv(_ buffer: UnsafeMutablePointer<Float>, count: Int, from peer: Int, tag: Int) -> PointToPoint {
        .recv(CommBuffer(buffer, count: count), from: peer, tag: tag)
    }
}

extension ProcessGroup {
    /// Sends `send` to `next` and receives `recv` from `previous` as one
    /// step (a ring step of ring attention or a ring all-reduce): every rank
    /// can call it at once without deadlock, because both backends' sends
    /// are eager (handed off without waiting for the receive).
    public func sendRecv(_ send: CommBuffer, to next: Int, into recv: CommBuffer, from previous: Int, tag: Int) throws {
        try exchange([.send(send, to: next, tag: tag), .recv(recv, from: previous, tag: tag)])
    }

    /// `sendRecv` of [count] floats each way.
    public func sendRecv(_ send: UnsafePointer<Float>, count: Int, to next: Int,
                         into recv: UnsafeMutablePointer<Float>, from previous: Int, tag: Int) throws {
        try sendRecv(CommBuffer(send, count: count), to: next, into: CommBuffer(recv, count: count), from: previous, tag: tag)
    }

    /// Runs a batch of sends and receives (torch's batch_isend_irecv): all
    /// sends first (eager), then the receives in order, so any set of ranks
    /// exchanging batches that match up completes without deadlock.
    public func exchange(_ operations: [PointToPoint]) throws {
        for case let .send(buffer, peer, tag) in operations { try send(buffer, to: peer, tag: tag) }
        for case let .recv(buffer, peer, tag) in operations { try recv(buffer, from: peer, tag: tag) }
    }
}
