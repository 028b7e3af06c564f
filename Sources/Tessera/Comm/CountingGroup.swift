import Foundation

/// A `ProcessGroup` that forwards every call to another and counts it: calls,
/// float32 elements moved and seconds spent, per operation. Tests read the
/// counts to prove what a layer communicates (Megatron's one all-reduce per
/// attention and per MLP); benchmarks read the seconds to report the share
/// of a step spent in communication. Groups of one rank are not counted:
/// they move nothing.
public final class CountingGroup: ProcessGroup, @unchecked Sendable {
    /// Totals of one kind of operation.
    public struct Tally: Sendable, Equatable {
        public var calls = 0
        /// float32 elements in this rank's buffer (the reduced or gathered size).
        public var elements = 0
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

    private func counted<T>(_ op: String, _ elements: Int, _ body: () throws -> T) rethrows -> T {
        guard size > 1 else { return try body() }
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            var t = tallies[op] ?? Tally()
            t.calls += 1
            t.elements += elements
            t.seconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            tallies[op] = t
        }
        return try body()
    }

    public func allReduce(_ buf: UnsafeMutablePointer<Float>, count: Int, op: ReduceOp) throws {
        try counted("allReduce", count) { try inner.allReduce(buf, count: count, op: op) }
    }
    /// Counts the call and its elements as an "allReduce"; the seconds of
    /// starting it and of waiting for it (the exposed part) as "allReduce"
    /// and "wait".
    public func startAllReduce(_ buf: UnsafeMutablePointer<Float>, count: Int, op: ReduceOp) throws -> CollectiveRequest {
        let request = try counted("allReduce", count) { try inner.startAllReduce(buf, count: count, op: op) }
        guard size > 1 else { return request }
        return CollectiveRequest { [self] in try counted("wait", 0) { try request.wait() } }
    }
    public func allGather(_ send: UnsafePointer<Float>, count: Int, into recv: UnsafeMutablePointer<Float>) throws {
        try counted("allGather", count * size) { try inner.allGather(send, count: count, into: recv) }
    }
    public func reduceScatter(_ send: UnsafePointer<Float>, total: Int, into recv: UnsafeMutablePointer<Float>,
                              op: ReduceOp) throws {
        try counted("reduceScatter", total) { try inner.reduceScatter(send, total: total, into: recv, op: op) }
    }
    public func allToAll(_ send: UnsafePointer<Float>, count: Int, into recv: UnsafeMutablePointer<Float>) throws {
        try counted("allToAll", count * size) { try inner.allToAll(send, count: count, into: recv) }
    }
    public func allToAll(_ send: UnsafePointer<Float>, sendCounts: [Int], into recv: UnsafeMutablePointer<Float>,
                         recvCounts: [Int]) throws {
        try counted("allToAll", recvCounts.reduce(0, +)) {
            try inner.allToAll(send, sendCounts: sendCounts, into: recv, recvCounts: recvCounts)
        }
    }
    public func broadcast(_ buf: UnsafeMutablePointer<Float>, count: Int, root: Int) throws {
        try counted("broadcast", count) { try inner.broadcast(buf, count: count, root: root) }
    }
    public func send(_ buf: UnsafePointer<Float>, count: Int, to peer: Int, tag: Int) throws {
        try counted("send", count) { try inner.send(buf, count: count, to: peer, tag: tag) }
    }
    public func recv(_ buf: UnsafeMutablePointer<Float>, count: Int, from peer: Int, tag: Int) throws {
        try counted("recv", count) { try inner.recv(buf, count: count, from: peer, tag: tag) }
    }
    public func barrier() throws { try counted("barrier", 0) { try inner.barrier() } }
    public func allGather(_ values: [Int]) throws -> [Int] { try inner.allGather(values) }
}
