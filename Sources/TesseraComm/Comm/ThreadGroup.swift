import Foundation
import Synchronization
import TesseraSupport

/// One rank's handle on a group of rank threads (see `ThreadWorld`).
///
/// Collectives work directly on the members' buffers: each rank publishes its
/// buffer's address, and after a barrier reads the others'. Reductions are
/// split into `size` chunks; rank r reduces chunk r over all ranks in rank
/// order 0, 1, …, size−1 and the others copy it, so every rank holds bitwise
/// the same result, run after run, whatever the thread timing.
public final class ThreadGroup: ProcessGroup, @unchecked Sendable {
    public let rank: Int
    public let size: Int
    public let name: String
    public let members: [Int]
    let world: ThreadWorld
    let meeting: Rendezvous
    private var seq = 0
    /// Runs started collectives in order, off the rank's own thread.
    private let worker: RankWorker
    /// Started and not yet drained requests (touched by the rank's thread only).
    private var pending: [CollectiveRequest] = []

    init(world: ThreadWorld, members: [Int], worldRank: Int, name: String) {
        guard let r = members.firstIndex(of: worldRank) else {
            preconditionFailure("rank \(worldRank) is not a member of group \(name) \(members)")
        }
        self.world = world
        self.members = members
        self.rank = r
        self.size = members.count
        self.name = name
        meeting = world.rendezvous(for: members, name: name)
        worker = RankWorker()
    }

    /// Waits for every started request, so a blocking collective runs after them (as MPI orders them).
    private func drain() throws {
        let started = pending
        pending = []
        for r in started { try r.wait() }
    }

    private func begin(_ op: String, _ buf: CommBuffer?, ints: [Int] = [], draining: Bool = true) throws -> [Post] {
        if draining { try drain() }
        seq += 1
        let address = buf.map { UInt(bitPattern: $0.raw) } ?? 0
        return try meeting.exchange(rank: rank, Post(op: op, seq: seq, address: address, count: buf?.count ?? ints.count,
                                                     dtype: buf?.dtype ?? .int64, ints: ints))
    }

    private func sync(_ op: String) throws { try meeting.barrier(rank: rank, op: op, seq: seq) }

    private func requireEqualCounts(_ posts: [Post], _ op: String) throws {
        let mine = posts[rank]
        for (q, p) in posts.enumerated() where p.count != mine.count || p.dtype != mine.dtype {
            throw CommError("group \(name), \(op) #\(seq): rank \(members[q]) passed \(p.count) elements"
                            + (p.dtype == mine.dtype ? "" : " of \(p.dtype)") + " but rank \(members[rank]) passed "
                            + "\(mine.count)" + (p.dtype == mine.dtype ? "" : " of \(mine.dtype)")
                            + "; all ranks must pass the same size and dtype")
        }
    }

    /// For i in `range`: every output[i − outputBase] ← op over q of
    /// inputs[q][i], combined in rank order (`ElementReduction`). Works block
    /// by block through a 16 KiB scratch that is filled from every input
    /// before any output is written, so outputs may be the inputs themselves
    /// (outputBase 0).
    private func reduce(_ inputs: [CommBuffer], _ range: Range<Int>, op: ReduceOp, into outputs: [CommBuffer],
                        outputBase: Int = 0) {
        let dtype = inputs[0].dtype, width = dtype.size, block = 16384 / width
        withUnsafeTemporaryAllocation(byteCount: block * width, alignment: 64) { scratch in
            let acc = scratch.baseAddress!
            var start = range.lowerBound
            while start < range.upperBound {
                let n = Swift.min(block, range.upperBound - start)
                acc.copyMemory(from: inputs[0].raw + start * width, byteCount: n * width)
                for q in 1..<inputs.count {
                    ElementReduction.combine(inputs[q].raw + start * width, into: acc, count: n, dtype: dtype, op: op)
                }
                if op == .average { ElementReduction.divide(acc, count: n, dtype: dtype, by: inputs.count) }
                for out in outputs { (out.raw + (start - outputBase) * width).copyMemory(from: acc, byteCount: n * width) }
                start += n
            }
        }
    }

    /// Rank r reduces chunk r of every member's buffer and writes the result
    /// into every member's buffer (each byte is read once and written once
    /// per rank, like a memcpy); a final barrier keeps every buffer alive
    /// until all writes into it are done.
    public func allReduce(_ buf: CommBuffer, op: ReduceOp) throws {
        try checkReduction(op, buf, "allReduce")
        if size == 1 { return }
        try drain()
        try reduceInPlace(buf, op: op)
    }

    /// Queues the all-reduce on this rank's worker: every rank's worker
    /// meets the others' in the group's rendezvous, in start order.
    public func startAllReduce(_ buf: CommBuffer, op: ReduceOp) throws -> CollectiveRequest {
        try checkReduction(op, buf, "allReduce")
        if size == 1 { return .completed }
        return started { [self] in try reduceInPlace(buf, op: op) }
    }

    /// Queues the all-gather on this rank's worker (see `startAllReduce`).
    public func startAllGather(_ send: CommBuffer, into recv: CommBuffer) throws -> CollectiveRequest {
        try checkAllGather(send, recv)
        if size == 1 { copyAlone(send, into: recv); return .completed }
        return started { [self] in try gather(send, into: recv, draining: false) }
    }

    /// Queues the reduce-scatter on this rank's worker (see `startAllReduce`).
    public func startReduceScatter(_ send: CommBuffer, into recv: CommBuffer, op: ReduceOp) throws -> CollectiveRequest {
        try checkReduceScatter(send, recv, op)
        if size == 1 { copyAlone(send, into: recv); return .completed }
        return started { [self] in try scatter(send, into: recv, op: op, draining: false) }
    }

    /// Runs `body` on the worker after the operations started before it; the request waits for it.
    private func started(_ body: @escaping @Sendable () throws -> Void) -> CollectiveRequest {
        let done = DispatchSemaphore(value: 0), failure = Mutex<Error?>(nil)
        worker.async {
            do { try body() } catch { failure.withLock { $0 = error } }
            done.signal()
        }
        let request = CollectiveRequest {
            done.wait()
            if let e = failure.withLock({ $0 }) { throw e }
        }
        pending.append(request)
        return request
    }

    private func reduceInPlace(_ buf: CommBuffer, op: ReduceOp) throws {
        let posts = try begin("allReduce", buf, draining: false)
        try requireEqualCounts(posts, "allReduce")
        let bufs = posts.map(\.buffer)
        reduce(bufs, chunk(rank, of: buf.count), op: op, into: bufs)
        try sync("allReduce")
    }

    /// In place when `send` is recv's slice at rank·n (each rank reads only the others' own parts).
    public func allGather(_ send: CommBuffer, into recv: CommBuffer) throws {
        try checkAllGather(send, recv)
        if size == 1 { return copyAlone(send, into: recv) }
        try gather(send, into: recv, draining: true)
    }

    private func gather(_ send: CommBuffer, into recv: CommBuffer, draining: Bool) throws {
        let posts = try begin("allGather", send, draining: draining)
        try requireEqualCounts(posts, "allGather")
        for q in 0..<size { posts[q].buffer.copy(into: recv.slice(q * send.count..<(q + 1) * send.count)) }
        try sync("allGather")
    }

    /// In place when `recv` is send's chunk(rank) (a rank writes only its own chunk, which no other rank reads).
    public func reduceScatter(_ send: CommBuffer, into recv: CommBuffer, op: ReduceOp) throws {
        try checkReduceScatter(send, recv, op)
        if size == 1 { return copyAlone(send, into: recv) }
        try scatter(send, into: recv, op: op, draining: true)
    }

    private func scatter(_ send: CommBuffer, into recv: CommBuffer, op: ReduceOp, draining: Bool) throws {
        let posts = try begin("reduceScatter", send, draining: draining)
        try requireEqualCounts(posts, "reduceScatter")
        let mine = chunk(rank, of: send.count)
        reduce(posts.map(\.buffer), mine, op: op, into: [recv], outputBase: mine.lowerBound)
        try sync("reduceScatter")
    }

    public func allToAll(_ send: CommBuffer, into recv: CommBuffer) throws {
        try checkAllToAll(send, recv)
        let n = send.count / size
        try allToAll(send, sendCounts: Array(repeating: n, count: size), into: recv, recvCounts: Array(repeating: n, count: size))
    }

    /// Queues the equal all-to-all on this rank's worker (see `startAllReduce`).
    public func startAllToAll(_ send: CommBuffer, into recv: CommBuffer) throws -> CollectiveRequest {
        try checkAllToAll(send, recv)
        if size == 1 { copyAlone(send, into: recv); return .completed }
        let counts = Array(repeating: send.count / size, count: size)
        return started { [self] in try exchange(send, sendCounts: counts, into: recv, recvCounts: counts, draining: false) }
    }

    public func allToAll(_ send: CommBuffer, sendCounts: [Int], into recv: CommBuffer, recvCounts: [Int]) throws {
        if try allToAllAlone(send, sendCounts: sendCounts, into: recv, recvCounts: recvCounts) { return }
        try exchange(send, sendCounts: sendCounts, into: recv, recvCounts: recvCounts, draining: true)
    }

    private func exchange(_ send: CommBuffer, sendCounts: [Int], into recv: CommBuffer, recvCounts: [Int],
                          draining: Bool) throws {
        let posts = try begin("allToAll", send, ints: sendCounts, draining: draining)
        var offset = 0
        for q in 0..<size {
            let theirs = posts[q].ints
            guard theirs[rank] == recvCounts[q], posts[q].dtype == recv.dtype else {
                throw CommError("group \(name), allToAll #\(seq): rank \(members[q]) sends \(theirs[rank]) "
                                + "\(posts[q].dtype) elements to rank \(members[rank]), which expects \(recvCounts[q]) "
                                + "\(recv.dtype)")
            }
            let from = theirs[..<rank].reduce(0, +)
            posts[q].buffer.slice(from..<from + recvCounts[q]).copy(into: recv.slice(offset..<offset + recvCounts[q]))
            offset += recvCounts[q]
        }
        try sync("allToAll")
    }

    public func broadcast(_ buf: CommBuffer, root: Int) throws {
        try checkRoot(root)
        if size == 1 { return }
        try spread(buf, root: root, draining: true)
    }

    /// Queues the broadcast on this rank's worker (see `startAllReduce`).
    public func startBroadcast(_ buf: CommBuffer, root: Int) throws -> CollectiveRequest {
        try checkRoot(root)
        if size == 1 { return .completed }
        return started { [self] in try spread(buf, root: root, draining: false) }
    }

    private func spread(_ buf: CommBuffer, root: Int, draining: Bool) throws {
        let posts = try begin("broadcast", buf, ints: [root], draining: draining)
        try requireEqualCounts(posts, "broadcast")
        if rank != root { posts[root].buffer.copy(into: buf) }
        try sync("broadcast")
    }

    public func barrier() throws {
        if size == 1 { return }
        _ = try begin("barrier", nil)
    }

    public func allGather(_ values: [Int]) throws -> [Int] {
        if size == 1 { return values }
        let posts = try begin("allGather(ints)", nil, ints: values)
        try requireEqualCounts(posts, "allGather(ints)")
        return posts.flatMap(\.ints)
    }

    private func mailboxKey(from: Int, to: Int, tag: Int) -> String { "\(name)|\(from)>\(to)#\(tag)" }

    public func send(_ buf: CommBuffer, to peer: Int, tag: Int) throws {
        try checkPointToPoint(peer: peer, tag: tag, "send")
        if let f = world.abortError { throw CommError("aborted: \(f.description)") }
        let bytes = [UInt8](UnsafeRawBufferPointer(start: buf.raw, count: buf.byteCount))
        world.mailbox.post(mailboxKey(from: rank, to: peer, tag: tag), Message(dtype: buf.dtype, count: buf.count, bytes: bytes))
    }

    public func recv(_ buf: CommBuffer, from peer: Int, tag: Int) throws {
        try checkPointToPoint(peer: peer, tag: tag, "recv")
        let me = members[rank], them = members[peer], timeout = world.timeout
        let message = try world.mailbox.take(
            mailboxKey(from: peer, to: rank, tag: tag), deadline: Date().addingTimeInterval(timeout),
            failure: { world.abortError },
            timeoutError: {
                let e = CommError("timeout after \(timeout)s in group \(self.name): rank \(me) waited for a message "
                                  + "from rank \(them) with tag \(tag) that never came")
                self.world.abort(e)
                return e
            })
        guard message.count == buf.count, message.dtype == buf.dtype else {
            let e = CommError("group \(name): rank \(them) sent \(message.count) \(message.dtype) elements with tag \(tag) "
                              + "but rank \(me) expected \(buf.count) \(buf.dtype)")
            world.abort(e)
            throw e
        }
        if buf.byteCount > 0 { message.bytes.withUnsafeBytes { buf.raw.copyMemory(from: $0.baseAddress!, byteCount: buf.byteCount) } }
    }
}
