/// A `ProcessGroup` that forwards every operation to another and shows each
/// one to an observer hook on the way: `CountingGroup` counts (tests and
/// the communication share), `TracingGroup` records trace events. The
/// forwarding lives here once, so a new operation is one method here that
/// every observer sees; a subclass overrides only the two hooks.
public class ObservedGroup: ProcessGroup, @unchecked Sendable {
    /// The wrapped group.
    public let inner: ProcessGroup

    public init(_ inner: ProcessGroup) { self.inner = inner }

    public var rank: Int { inner.rank }
    public var size: Int { inner.size }
    public var name: String { inner.name }
    public var members: [Int] { inner.members }

    /// A blocking operation named `op` (e.g. "allReduce", "send") whose size
    /// is `buffer`'s (nccl-tests' S: the reduced, gathered or scattered
    /// whole; nil for a barrier or the integer gather), with its peer and tag
    /// for point-to-point (−1 otherwise): runs `body`. Subclasses observe around it.
    func observe(_ op: String, _ buffer: CommBuffer?, peer: Int, tag: Int, _ body: () throws -> Void) throws {
        try body()
    }

    /// A started operation named `op` of `buffer`'s size: `start` starts it
    /// and returns its request; subclasses observe the start and wrap the
    /// request to observe the wait (the exposed part).
    func observeStarted(_ op: String, _ buffer: CommBuffer,
                        _ start: () throws -> CollectiveRequest) throws -> CollectiveRequest {
        try start()
    }

    private func observe(_ op: String, _ buffer: CommBuffer?, _ body: () throws -> Void) throws {
        try observe(op, buffer, peer: -1, tag: -1, body)
    }

    public func allReduce(_ buf: CommBuffer, op: ReduceOp) throws {
        try observe("allReduce", buf) { try inner.allReduce(buf, op: op) }
    }
    public func startAllReduce(_ buf: CommBuffer, op: ReduceOp) throws -> CollectiveRequest {
        try observeStarted("allReduce", buf) { try inner.startAllReduce(buf, op: op) }
    }
    public func allGather(_ send: CommBuffer, into recv: CommBuffer) throws {
        try observe("allGather", recv) { try inner.allGather(send, into: recv) }
    }
    public func startAllGather(_ send: CommBuffer, into recv: CommBuffer) throws -> CollectiveRequest {
        try observeStarted("allGather", recv) { try inner.startAllGather(send, into: recv) }
    }
    public func reduceScatter(_ send: CommBuffer, into recv: CommBuffer, op: ReduceOp) throws {
        try observe("reduceScatter", send) { try inner.reduceScatter(send, into: recv, op: op) }
    }
    public func startReduceScatter(_ send: CommBuffer, into recv: CommBuffer, op: ReduceOp) throws -> CollectiveRequest {
        try observeStarted("reduceScatter", send) { try inner.startReduceScatter(send, into: recv, op: op) }
    }
    public func allToAll(_ send: CommBuffer, into recv: CommBuffer) throws {
        try observe("allToAll", send) { try inner.allToAll(send, into: recv) }
    }
    public func startAllToAll(_ send: CommBuffer, into recv: CommBuffer) throws -> CollectiveRequest {
        try observeStarted("allToAll", send) { try inner.startAllToAll(send, into: recv) }
    }
    public func allToAll(_ send: CommBuffer, sendCounts: [Int], into recv: CommBuffer, recvCounts: [Int]) throws {
        try observe("allToAll", recv) { try inner.allToAll(send, sendCounts: sendCounts, into: recv, recvCounts: recvCounts) }
    }
    public func broadcast(_ buf: CommBuffer, root: Int) throws {
        try observe("broadcast", buf) { try inner.broadcast(buf, root: root) }
    }
    public func startBroadcast(_ buf: CommBuffer, root: Int) throws -> CollectiveRequest {
        try observeStarted("broadcast", buf) { try inner.startBroadcast(buf, root: root) }
    }
    public func send(_ buf: CommBuffer, to peer: Int, tag: Int) throws {
        try observe("send", buf, peer: peer, tag: tag) { try inner.send(buf, to: peer, tag: tag) }
    }
    public func recv(_ buf: CommBuffer, from peer: Int, tag: Int) throws {
        try observe("recv", buf, peer: peer, tag: tag) { try inner.recv(buf, from: peer, tag: tag) }
    }
    public func barrier() throws { try observe("barrier", nil) { try inner.barrier() } }
    public func allGather(_ values: [Int]) throws -> [Int] {
        var all: [Int] = []
        try observe("allGather(ints)", nil) { all = try inner.allGather(values) }
        return all
    }
}
