/// A `ProcessGroup` that forwards every call to another and records it on a
/// rank's `TraceRecorder`: operation, group, bytes, start and end, and the
/// group-wide sequence number that lets the merged trace line up the
/// members' records of one collective (and so split each rank's time into
/// waiting for the last peer to arrive and moving data, see `TraceMerger`).
/// A started all-reduce is recorded from its start until it is waited for,
/// plus the wait itself (the exposed part). Groups of one rank move nothing
/// and are not recorded.
public class TracingGroup: ProcessGroup, @unchecked Sendable {
    /// The wrapped group.
    public let inner: ProcessGroup
    /// Where the records go.
    public let recorder: TraceRecorder
    /// Collectives started on this group so far (this rank's count; the same on every member).
    private var sequence = 0

    public init(_ inner: ProcessGroup, recorder: TraceRecorder) {
        self.inner = inner
        self.recorder = recorder
    }

    public var rank: Int { inner.rank }
    public var size: Int { inner.size }
    public var name: String { inner.name }
    public var members: [Int] { inner.members }

    /// Runs `body` and records it as operation `op` on `buffer` (its bytes: nccl-tests' S).
    private func traced<T>(_ op: String, _ buffer: CommBuffer?, peer: Int = -1, tag: Int = -1,
                           _ body: () throws -> T) rethrows -> T {
        guard size > 1 else { return try body() }
        var e = event(op, buffer, peer: peer, tag: tag)
        let result = try body()
        e.end = TraceRecorder.now()
        recorder.record(e)
        return result
    }

    private func event(_ op: String, _ buffer: CommBuffer?, peer: Int, tag: Int) -> TraceEvent {
        var e = TraceEvent(kind: .comm, name: op, detail: inner.name, start: TraceRecorder.now(), end: 0)
        e.bytes = buffer?.byteCount ?? 0
        e.groupRank = inner.rank
        e.groupSize = inner.size
        e.peer = peer
        e.tag = tag
        if peer < 0 { e.sequence = sequence; sequence += 1 }
        return e
    }

    public func allReduce(_ buf: CommBuffer, op: ReduceOp) throws {
        try traced("allReduce", buf) { try inner.allReduce(buf, op: op) }
    }
    public func startAllReduce(_ buf: CommBuffer, op: ReduceOp) throws -> CollectiveRequest {
        try tracedStart("allReduce", buf) { try inner.startAllReduce(buf, op: op) }
    }
    public func startAllGather(_ send: CommBuffer, into recv: CommBuffer) throws -> CollectiveRequest {
        try tracedStart("allGather", recv) { try inner.startAllGather(send, into: recv) }
    }
    public func startReduceScatter(_ send: CommBuffer, into recv: CommBuffer, op: ReduceOp) throws -> CollectiveRequest {
        try tracedStart("reduceScatter", send) { try inner.startReduceScatter(send, into: recv, op: op) }
    }
    /// A started collective, recorded from its start to the end of its wait, plus the wait itself.
    private func tracedStart(_ op: String, _ buf: CommBuffer,
                             _ start: () throws -> CollectiveRequest) throws -> CollectiveRequest {
        guard size > 1 else { return try start() }
        var started = event(op, buf, peer: -1, tag: -1)
        started.async = true
        let request = try start()
        return CollectiveRequest { [recorder, name] in
            var wait = TraceEvent(kind: .wait, name: "wait " + op, detail: name, start: TraceRecorder.now(), end: 0)
            try request.wait()
            wait.end = TraceRecorder.now()
            started.end = wait.end
            recorder.record(started)
            recorder.record(wait)
        }
    }
    public func allGather(_ send: CommBuffer, into recv: CommBuffer) throws {
        try traced("allGather", recv) { try inner.allGather(send, into: recv) }
    }
    public func reduceScatter(_ send: CommBuffer, into recv: CommBuffer, op: ReduceOp) throws {
        try traced("reduceScatter", send) { try inner.reduceScatter(send, into: recv, op: op) }
    }
    public func allToAll(_ send: CommBuffer, into recv: CommBuffer) throws {
        try traced("allToAll", send) { try inner.allToAll(send, into: recv) }
    }
    public func allToAll(_ send: CommBuffer, sendCounts: [Int], into recv: CommBuffer, recvCounts: [Int]) throws {
        try traced("allToAll", recv) { try inner.allToAll(send, sendCounts: sendCounts, into: recv, recvCounts: recvCounts) }
    }
    public func broadcast(_ buf: CommBuffer, root: Int) throws {
        try traced("broadcast", buf) { try inner.broadcast(buf, root: root) }
    }
    public func send(_ buf: CommBuffer, to peer: Int, tag: Int) throws {
        try traced("send", buf, peer: peer, tag: tag) { try inner.send(buf, to: peer, tag: tag) }
    }
    public func recv(_ buf: CommBuffer, from peer: Int, tag: Int) throws {
        try traced("recv", buf, peer: peer, tag: tag) { try inner.recv(buf, from: peer, tag: tag) }
    }
    public func barrier() throws { try traced("barrier", nil) { try inner.barrier() } }
    public func allGather(_ values: [Int]) throws -> [Int] {
        try traced("allGather(ints)", nil) { try inner.allGather(values) }
    }
}

/// The traced world of one rank: a `TracingGroup` whose sub-groups (the
/// mesh's dp, tp, pp, embedding groups) are traced on the same recorder.
public final class TracingWorld: TracingGroup, ProcessGroupFactory, @unchecked Sendable {
    private let factory: ProcessGroupFactory

    public init(_ world: ProcessGroup & ProcessGroupFactory, recorder: TraceRecorder) {
        factory = world
        super.init(world, recorder: recorder)
    }

    public var worldRank: Int { factory.worldRank }
    public func subgroup(members: [Int], name: String) -> ProcessGroup {
        TracingGroup(factory.subgroup(members: members, name: name), recorder: recorder)
    }
}
