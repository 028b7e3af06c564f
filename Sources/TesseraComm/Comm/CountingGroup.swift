import Foundation

/// A `ProcessGroup` that forwards every call to another and counts it: calls,
/// elements and bytes moved and seconds spent, per operation. Tests read the
/// counts to prove what a layer communicates (Megatron's one all-reduce per
/// attention and per MLP); benchmarks read the seconds to report the share
/// of a step spent in communication. Groups of one rank are not counted:
/// they move nothing.
public final class CountingGroup: ObservedGroup, @unchecked Sendable {
    /// Totals of one kind of operation.
    public struct Tally: Sendable, Equatable {
        public var calls = 0
        /// Elements in this rank's buffer (the reduced or gathered size), of any dtype.
        public var elements = 0
        /// Bytes of those elements.
        public var bytes = 0
        public var seconds = 0.0
    }

    /// Totals by operation name ("allReduce", "allGather", "reduceScatter", …).
    public private(set) var tallies: [String: Tally] = [:]

    /// Seconds in every operation so far.
    public var seconds: Double { tallies.values.reduce(0) { $0 + $1.seconds } }
    /// Forgets every count.
    public func reset() { tallies = [:] }

    override func observe(_ op: String, _ buffer: CommBuffer?, peer: Int, tag: Int, _ body: () throws -> Void) throws {
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
        try body()
    }

    /// Counts the call and its elements under `op`, and the seconds of
    /// waiting for it (the exposed part) as "wait".
    override func observeStarted(_ op: String, _ buffer: CommBuffer,
                                 _ start: () throws -> CollectiveRequest) throws -> CollectiveRequest {
        guard size > 1 else { return try start() }
        var request: CollectiveRequest!
        try observe(op, buffer, peer: -1, tag: -1) { request = try start() }
        return CollectiveRequest { [self, request] in try observe("wait", nil, peer: -1, tag: -1) { try request!.wait() } }
    }
}
