import Foundation
import Synchronization

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
    /// Runs started all-reduces in order, off the rank's own thread.
    private let worker: DispatchQueue
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
        worker = DispatchQueue(label: "tessera.\(name).rank\(worldRank)")
    }

    /// Waits for every started request, so a blocking collective runs after them (as MPI orders them).
    private func drain() throws {
        let started = pending
        pending = []
        for r in started { try r.wait() }
    }

    private func begin(_ op: String, address: UnsafeRawPointer?, count: Int, ints: [Int] = [],
                       draining: Bool = true) throws -> [Post] {
        if draining { try drain() }
        seq += 1
        return try meeting.exchange(rank: rank, Post(op: op, seq: seq, address: address.map { UInt(bitPattern: $0) } ?? 0,
                                                     count: count, ints: ints))
    }

    private func sync(_ op: String) throws { try meeting.barrier(rank: rank, op: op, seq: seq) }

    private func requireEqualCounts(_ posts: [Post], _ op: String) throws {
        for (q, p) in posts.enumerated() where p.count != posts[rank].count {
            throw CommError("group \(name), \(op) #\(seq): rank \(members[q]) passed \(p.count) elements but rank "
                            + "\(members[rank]) passed \(posts[rank].count); all ranks must pass the same size")
        }
    }

    /// For i in `range`: every output[i − outputBase] ← op over q of
    /// inputs[q][i], combined in rank order. Works block by block through a
    /// 16 KiB scratch that is filled from every input before any output is
    /// written, so outputs may be the inputs themselves (outputBase 0).
    private func reduce(_ inputs: [UnsafeMutablePointer<Float>], _ range: Range<Int>, op: ReduceOp,
                        into outputs: [UnsafeMutablePointer<Float>], outputBase: Int = 0) {
        let block = 4096, scale = 1 / Float(inputs.count)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: block) { scratch in
            let acc = scratch.baseAddress!
            var start = range.lowerBound
            while start < range.upperBound {
                let n = Swift.min(block, range.upperBound - start)
                acc.update(from: inputs[0] + start, count: n)
                for q in 1..<inputs.count {
                    let src = inputs[q] + start
                    switch op {
                    case .sum, .average: for i in 0..<n { acc[i] += src[i] }
                    case .max: for i in 0..<n { acc[i] = Swift.max(acc[i], src[i]) }
                    }
                }
                if op == .average { Vector.scale(acc, n, by: scale) }
                for out in outputs { (out + (start - outputBase)).update(from: acc, count: n) }
                start += n
            }
        }
    }

    /// Rank r reduces chunk r of every member's buffer and writes the result
    /// into every member's buffer (each byte is read once and written once
    /// per rank, like a memcpy); a final barrier keeps every buffer alive
    /// until all writes into it are done.
    public func allReduce(_ buf: UnsafeMutablePointer<Float>, count: Int, op: ReduceOp) throws {
        if size == 1 { return }
        try drain()
        try reduceInPlace(buf, count: count, op: op)
    }

    /// Queues the all-reduce on this rank's worker: every rank's worker
    /// meets the others' in the group's rendezvous, in start order.
    public func startAllReduce(_ buf: UnsafeMutablePointer<Float>, count: Int, op: ReduceOp) throws -> CollectiveRequest {
        if size == 1 { return .completed }
        let done = DispatchSemaphore(value: 0), failure = Mutex<Error?>(nil), address = UInt(bitPattern: buf)
        worker.async { [self] in
            do { try reduceInPlace(UnsafeMutablePointer(bitPattern: address)!, count: count, op: op) }
            catch { failure.withLock { $0 = error } }
            done.signal()
        }
        let request = CollectiveRequest {
            done.wait()
            if let e = failure.withLock({ $0 }) { throw e }
        }
        pending.append(request)
        return request
    }

    private func reduceInPlace(_ buf: UnsafeMutablePointer<Float>, count: Int, op: ReduceOp) throws {
        let posts = try begin("allReduce", address: buf, count: count, draining: false)
        try requireEqualCounts(posts, "allReduce")
        let bufs = posts.map { $0.floats() }
        reduce(bufs, chunk(rank, of: count), op: op, into: bufs)
        try sync("allReduce")
    }

    public func allGather(_ send: UnsafePointer<Float>, count: Int, into recv: UnsafeMutablePointer<Float>) throws {
        if size == 1 { return copyAlone(send, into: recv, count: count) }
        let posts = try begin("allGather", address: send, count: count)
        try requireEqualCounts(posts, "allGather")
        for q in 0..<size { (recv + q * count).update(from: posts[q].floats(), count: count) }
        try sync("allGather")
    }

    public func reduceScatter(_ send: UnsafePointer<Float>, total: Int, into recv: UnsafeMutablePointer<Float>,
                              op: ReduceOp) throws {
        if size == 1 { return copyAlone(send, into: recv, count: total) }
        let posts = try begin("reduceScatter", address: send, count: total)
        try requireEqualCounts(posts, "reduceScatter")
        let mine = chunk(rank, of: total)
        reduce(posts.map { $0.floats() }, mine, op: op, into: [recv], outputBase: mine.lowerBound)
        try sync("reduceScatter")
    }

    public func allToAll(_ send: UnsafePointer<Float>, count: Int, into recv: UnsafeMutablePointer<Float>) throws {
        try allToAll(send, sendCounts: Array(repeating: count, count: size), into: recv,
                     recvCounts: Array(repeating: count, count: size))
    }

    public func allToAll(_ send: UnsafePointer<Float>, sendCounts: [Int], into recv: UnsafeMutablePointer<Float>,
                         recvCounts: [Int]) throws {
        if try allToAllAlone(send, sendCounts: sendCounts, into: recv, recvCounts: recvCounts) { return }
        let posts = try begin("allToAll", address: send, count: sendCounts.reduce(0, +), ints: sendCounts)
        var offset = 0
        for q in 0..<size {
            let theirs = posts[q].ints
            guard theirs[rank] == recvCounts[q] else {
                throw CommError("group \(name), allToAll #\(seq): rank \(members[q]) sends \(theirs[rank]) elements "
                                + "to rank \(members[rank]), which expects \(recvCounts[q])")
            }
            let from = theirs[..<rank].reduce(0, +)
            (recv + offset).update(from: posts[q].floats() + from, count: recvCounts[q])
            offset += recvCounts[q]
        }
        try sync("allToAll")
    }

    public func broadcast(_ buf: UnsafeMutablePointer<Float>, count: Int, root: Int) throws {
        guard (0..<size).contains(root) else {
            throw CommError("group \(name), broadcast: root \(root) is not a group rank (0..<\(size))")
        }
        if size == 1 { return }
        let posts = try begin("broadcast", address: buf, count: count, ints: [root])
        try requireEqualCounts(posts, "broadcast")
        if rank != root { buf.update(from: posts[root].floats(), count: count) }
        try sync("broadcast")
    }

    public func barrier() throws {
        if size == 1 { return }
        _ = try begin("barrier", address: nil, count: 0)
    }

    public func allGather(_ values: [Int]) throws -> [Int] {
        if size == 1 { return values }
        let posts = try begin("allGather(ints)", address: nil, count: values.count, ints: values)
        try requireEqualCounts(posts, "allGather(ints)")
        return posts.flatMap(\.ints)
    }

    private func mailboxKey(from: Int, to: Int, tag: Int) -> String { "\(name)|\(from)>\(to)#\(tag)" }

    public func send(_ buf: UnsafePointer<Float>, count: Int, to peer: Int, tag: Int) throws {
        try checkPointToPoint(peer: peer, tag: tag, "send")
        if let f = world.abortError { throw CommError("aborted: \(f.description)") }
        world.mailbox.post(mailboxKey(from: rank, to: peer, tag: tag), Array(UnsafeBufferPointer(start: buf, count: count)))
    }

    public func recv(_ buf: UnsafeMutablePointer<Float>, count: Int, from peer: Int, tag: Int) throws {
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
        guard message.count == count else {
            let e = CommError("group \(name): rank \(them) sent \(message.count) elements with tag \(tag) but rank "
                              + "\(me) expected \(count)")
            world.abort(e)
            throw e
        }
        message.withUnsafeBufferPointer { buf.update(from: $0.baseAddress!, count: count) }
    }
}
