import Foundation
import TesseraSupport
import TesseraKernels

/// N ranks as threads of one process, communicating through shared memory.
///
/// `ThreadWorld.run(size:)` starts one thread per rank and hands each its
/// world group. If any rank throws, the world is aborted: every rank waiting
/// in a collective wakes (within 50 ms) with an error naming the failed rank
/// and its error, and `run` rethrows the first failure with its kind kept
/// (a diverged run is a `TrainingError` on threads as on one rank). A rank that does not
/// arrive at a collective within `timeout` seconds aborts the world with an
/// error naming the group, the operation, its sequence number and the
/// missing ranks.
public final class ThreadWorld: @unchecked Sendable {
    /// Number of ranks.
    public let size: Int
    /// Seconds a rank waits for the others before the job is aborted.
    public let timeout: Double
    private let lock = NSLock()
    private var failure: CommError?
    private var rootCause: (any TesseraFailure)?
    private var rendezvous: [String: Rendezvous] = [:]
    let mailbox: Mailbox

    public init(size: Int, timeout: Double = 60) {
        precondition(size >= 1, "ThreadWorld needs at least one rank")
        self.size = size
        self.timeout = timeout
        mailbox = Mailbox()
    }

    /// The error that aborted the world, if any.
    public var abortError: CommError? { lock.withLock { failure } }

    /// Aborts the world with `error` (the first abort wins).
    public func abort(_ error: CommError) {
        lock.withLock { if failure == nil { failure = error; rootCause = error } }
    }

    /// Aborts the world because rank `rank` threw `error`: the other ranks
    /// wake with a communication error naming it; `run` rethrows `error`
    /// itself, of its own kind (other errors become communication errors).
    func fail(rank: Int, _ error: Error) {
        if let e = error as? CommError { return abort(e) }
        let cause = ErrorKind.rankFailure(error, rank: rank)
        lock.withLock {
            if failure == nil { failure = CommError(cause.description); rootCause = cause }
        }
    }

    /// The shared state of the group with these members and this name (created
    /// on first use). Two groups with the same members but different names
    /// (the data-parallel and the expert-parallel group when ep = dp) meet
    /// apart, as two MPI communicators do: each numbers its own collectives,
    /// so one's started collective (a ZeRO-3 prefetch) and the other's
    /// blocking one (a token exchange) cannot cross.
    func rendezvous(for members: [Int], name: String) -> Rendezvous {
        let key = name + "|" + members.map(String.init).joined(separator: ",")
        return lock.withLock {
            if let r = rendezvous[key] { return r }
            let r = Rendezvous(world: self, members: members, name: name)
            rendezvous[key] = r
            return r
        }
    }

    /// The world group as seen by `rank`.
    public func worldGroup(rank: Int) -> ThreadGroup {
        ThreadGroup(world: self, members: Array(0..<size), worldRank: rank, name: "world")
    }

    /// A sub-group of world ranks `members` (in group order) as seen by `worldRank`, a member.
    public func group(members: [Int], worldRank: Int, name: String) -> ThreadGroup {
        ThreadGroup(world: self, members: members, worldRank: worldRank, name: name)
    }

    /// Runs `body` on `size` rank threads and waits for all; rethrows the first failure.
    /// With more than one rank, each rank's kernels run on one thread (ranks
    /// share the cores); the process's own count is left as it was.
    public static func run(size: Int, timeout: Double = 60,
                           _ body: @escaping @Sendable (ThreadGroup) throws -> Void) throws {
        let world = ThreadWorld(size: size, timeout: timeout)
        let kernelThreads = size > 1 ? 1 : Compute.threads
        let done = DispatchGroup()
        for r in 0..<size {
            done.enter()
            let started = RankThread.start(stackBytes: 64 << 20) {
                do {
                    try Compute.withThreads(kernelThreads) { try body(world.worldGroup(rank: r)) }
                } catch {
                    world.fail(rank: r, error)
                }
                done.leave()
            }
            if let refusal = started {
                // The ranks already started wake from their first collective with this error.
                world.abort(CommError("cannot start rank thread \(r) of \(size): the system refused a thread "
                                      + "(\(refusal)); run fewer thread ranks or use mpirun"))
                done.leave()  // rank r entered but never ran; later ranks were never entered
                break
            }
        }
        done.wait()
        if let e = world.lock.withLock({ world.rootCause }) { throw e }
    }
}

/// Point-to-point messages between rank threads: eager sends (the data is
/// copied into the mailbox), blocking receives with the world's timeout.
final class Mailbox: @unchecked Sendable {
    private let cond = NSCondition()
    private var queues: [String: [Message]] = [:]

    func post(_ key: String, _ data: Message) {
        cond.lock()
        queues[key, default: []].append(data)
        cond.broadcast()
        cond.unlock()
    }

    /// Waits for a message under `key`; `failure` is polled so an abort wakes the receiver.
    func take(_ key: String, deadline: Date, failure: () -> CommError?, timeoutError: () -> CommError) throws -> Message {
        cond.lock()
        defer { cond.unlock() }
        while true {
            if var q = queues[key], !q.isEmpty {
                let m = q.removeFirst()
                queues[key] = q
                return m
            }
            if let f = failure() { throw CommError("aborted: \(f.description)") }
            if Date() >= deadline { throw timeoutError() }
            _ = cond.wait(until: min(deadline, Date().addingTimeInterval(0.05)))
        }
    }
}

/// One point-to-point message between rank threads: a copy of the sent elements.
struct Message: Sendable {
    let dtype: DType
    let count: Int
    let bytes: [UInt8]
}
