import TesseraSupport

/// A `ProcessGroup` that forwards every call to another and records it on a
/// rank's `TraceRecorder`: operation, group, bytes, start and end, and the
/// group-wide sequence number that lets the merged trace line up the
/// members' records of one collective (and so split each rank's time into
/// waiting for the last peer to arrive and moving data, see `TraceMerger`).
/// A started all-reduce is recorded from its start until it is waited for,
/// plus the wait itself (the exposed part). Groups of one rank move nothing
/// and are not recorded.
public class TracingGroup: ObservedGroup, @unchecked Sendable {
    /// Where the records go.
    public let recorder: TraceRecorder
    /// Collectives started on this group so far (this rank's count; the same on every member).
    private var sequence = 0

    public init(_ inner: ProcessGroup, recorder: TraceRecorder) {
        self.recorder = recorder
        super.init(inner)
    }

    /// Runs `body` and records it as operation `op` on `buffer` (its bytes: nccl-tests' S).
    override func observe(_ op: String, _ buffer: CommBuffer?, peer: Int, tag: Int, _ body: () throws -> Void) throws {
        guard size > 1 else { return try body() }
        var e = event(op, buffer, peer: peer, tag: tag)
        try body()
        e.end = TraceRecorder.now()
        recorder.record(e)
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

    /// A started collective, recorded from its start to the end of its wait, plus the wait itself.
    override func observeStarted(_ op: String, _ buf: CommBuffer,
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
