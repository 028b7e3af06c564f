import Foundation

/// A `ProcessGroup` that forwards every call to another and counts it: calls,
/// elements and bytes moved and seconds spent, per operation. Tests read the
/// counts to prove what a layer communicates (Megatron's one all-reduce per
/// attention and per MLP); benchmarks read the seconds to report the share
/// of a step spent in communication. Groups of one rank are not counted:
/// they move nothing.
public final class CountingGroup: ProcessGroup, @unchecked Sendable {
    /// Totals of one kind of operation.
    public struct Tally: Sendable, Equatable {
        public var calls = 0
        /// Elements in this rank's buffer (the reduced or gathered size), of any dtype.
        public var elements = 0
        /// Bytes of those elements.
        public var bytes = 0
        public var seconds = 0.0
    }

    /// The wrapped group.
    public let inner: ProcessGroup
    /// Totals by operation name ("allReduce", "allGather", "reduceScatter", …).
    public private(set) var tallies: [String: Tally] = [:]

    public init(_ inner: ProcessGroup) { self.inner = inner }

    public var rank: Int { inner.rank }
    public var size: Int { inner.size }
    public var name: String { inner.name }
    public var members: [Int] { inner.members }

    /// Seconds in every operation so far.
    public var seconds: Double { tallies.values.reduce(0) { $0 + $1.seconds } }
    /// Forgets every count.
    public func reset() { tallies = [:] }

    private func counted<T>(_ op: String, _ buffer: CommBuffer?, _ body: () throws -> T) rethrows -> T {
        guard size > 1 else { return try body() }
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            var t = tallies[op] ?? Tally()
            t.calls += 1
            t.elements += buffer?.count ?? 0
            t.bytes += buffer?.byteCount ?? 0
            t.seconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            tallies[op] = t
        }
        return try body()
    }

    public func allReduce(_ buf: CommBuffer, op: ReduceOp) throws {
        try counted("allReduce", buf) { try inner.allReduce(buf, op: op) }
    }
    /// Counts the call and its elements as an "allReduce"; the seconds of
    /// starting it and of waiting for it (the exposed part) as "allReduce"
    /// and "wait".
    public func startAllReduce(_ buf: CommBuffer, op: ReduceOp) throws -> CollectiveRequest {
        exposed(try counted("allReduce", buf) { try inner.startAllReduce(buf, op: op) })
    }
    /// Counted as "allGather" (start) and "wait", like `startAllReduce`.
    public func startAllGather(_ send: CommBuffer, into recv: CommBuffer) throws -> CollectiveRequest {
        exposed(try counted("allGather", recv) { try inner.startAllGather(send, into: recv) })
    }
    /// Counted as "reduceScatter" (start) and "wait", like `startAllReduce`.
    public func startReduceScatter(_ send: CommBuffer, into recv: CommBuffer, op: ReduceOp) throws -> CollectiveRequest {
        exposed(try counted("reduceScatter", send) { try inner.startReduceScatter(send, into: recv, op: op) })
    }
    /// A request whose waiting time is counted as "wait" (the exposed part of a started collective).
    private func exposed(_ request: CollectiveRequest) -> CollectiveRequest {
        guard size > 1 else { return request }
        return CollectiveRequest { [self] in try counted("wait", nil) { try request.wait() } }
    }
    public func allGather(_ send: CommBuffer, into recv: CommBuffer) throws {
        try counted("allGather", recv) { try inner.allGather(send, into: recv) }
    }
    public func reduceScatter(_ send: CommBuffer, into recv: CommBuffer, op: ReduceOp) throws {
        try counted("reduceScatter", send) { try inner.reduceScatter(send, into: recv, op: op) }
    }
    public func allToAll(_ send: CommBuffer, into recv: CommBuffer) throws {
        try counted("allToAll", send) { try inner.allToAll(send, into: recv) }
    }
    public func allToAll(_ send: CommBuffer, sendCounts: [Int], into recv: CommBuffer, recvCounts: [Int]) throws {
        try counted("allToAll", recv) { try inner.allToAll(send, sendCounts: sendCounts, into: recv, recvCounts: recvCounts) }
    }
    public func broadcast(_ buf: CommBuffer, root: Int) throws {
        try counted("broadcast", buf) { try inner.broadcast(buf, root: root) }
    }
    public func send(_ buf: CommBuffer, to peer: Int, tag: Int) throws {
        try counted("send", buf) { try inner.send(buf, to: peer, tag: tag) }
    }
    public func recv(_ buf: CommBuffer, from peer: Int, tag: Int) throws {
        try counted("recv", buf) { try inner.recv(buf, from: peer, tag: tag) }
    }
    public func barrier() throws { try counted("barrier", nil) { try inner.barrier() } }
    public func allGather(_ values: [Int]) throws -> [Int] { try inner.allGather(values) }
}
