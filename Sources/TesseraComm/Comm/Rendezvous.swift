import Foundation
import TesseraSupport
import TesseraKernels

/// What a rank brings to a collective: the operation, its sequence number,
/// a buffer address, size and dtype, and optional integers (counts, metadata).
struct Post: Sendable {
    var op: String
    var seq: Int
    var address: UInt = 0
    var count: Int = 0
    var dtype: DType = .float32
    var ints: [Int] = []

    /// The posted buffer.
    var buffer: CommBuffer { CommBuffer(UnsafeMutableRawPointer(bitPattern: address)!, dtype, count: count) }
}

/// The meeting point of one group's members: a generation-counted barrier
/// with a deadline, and a table of the posts of the current collective.
final class Rendezvous: @unchecked Sendable {
    let members: [Int]
    let name: String
    unowned let world: ThreadWorld
    private let cond = NSCondition()
    private var arrived: Set<Int> = []
    private var generation = 0
    private var posts: [Post?]
    private var snapshot: [Post] = []

    init(world: ThreadWorld, members: [Int], name: String) {
        self.world = world
        self.members = members
        self.name = name
        posts = Array(repeating: nil, count: members.count)
    }

    /// Posts `post` for group rank `rank`, waits for every member, and returns
    /// all posts in rank order. Checks that everyone called the same operation.
    func exchange(rank: Int, _ post: Post) throws -> [Post] {
        try wait(rank: rank, op: post.op, seq: post.seq) { posts[rank] = post }
        let all = lastSnapshot
        for (q, p) in all.enumerated() where p.op != post.op || p.seq != post.seq {
            throw CommError("group \(name): rank \(members[q]) called \(p.op) #\(p.seq) while rank \(members[rank]) "
                            + "called \(post.op) #\(post.seq); every member must issue the same collectives in the same order")
        }
        return all
    }

    /// A plain barrier for group rank `rank` inside operation `op` #`seq`.
    func barrier(rank: Int, op: String, seq: Int) throws {
        try wait(rank: rank, op: op, seq: seq) {}
    }

    private var lastSnapshot: [Post] { cond.withLock { snapshot } }

    private func wait(rank: Int, op: String, seq: Int, _ contribute: () -> Void) throws {
        cond.lock()
        if let f = world.abortError { cond.unlock(); throw aborted(f) }
        contribute()
        let gen = generation
        arrived.insert(rank)
        if arrived.count == members.count {
            if posts.allSatisfy({ $0 != nil }) { snapshot = posts.map { $0! } }
            posts = Array(repeating: nil, count: members.count)
            arrived = []
            generation += 1
            cond.broadcast()
            cond.unlock()
            return
        }
        let deadline = Date().addingTimeInterval(world.timeout)
        while generation == gen {
            if let f = world.abortError { cond.unlock(); throw aborted(f) }
            if Date() >= deadline {
                let missing = members.indices.filter { !arrived.contains($0) }.map { members[$0] }
                cond.unlock()
                let cores = ProcessInfo.processInfo.activeProcessorCount
                let e = world.size > 4 * cores
                    ? CommError("timeout after \(world.timeout)s in group \(name), operation \(op) #\(seq): the machine "
                                + "is oversubscribed (\(world.size) rank threads on \(cores) cores), so \(missing.count) "
                                + "rank(s) were still on their way; raise --timeout or use fewer ranks")
                    : CommError("timeout after \(world.timeout)s in group \(name), operation \(op) #\(seq): "
                                + "rank(s) \(missing) did not arrive (rank \(members[rank]) was waiting)")
                world.abort(e)
                throw e
            }
            _ = cond.wait(until: min(deadline, Date().addingTimeInterval(0.05)))
        }
        cond.unlock()
    }

    private func aborted(_ f: CommError) -> CommError {
        f.description.hasPrefix("aborted") ? f : CommError("aborted: \(f.description)")
    }
}
