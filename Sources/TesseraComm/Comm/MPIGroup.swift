import CMPI
import Foundation
import TesseraSupport
import TesseraKernels

/// Ranks as Open MPI processes (`mpirun -np N tessera …`), one process per rank.
///
/// Typed buffers map to MPI datatypes and operations through `MPIType`
/// (bfloat16 as 16-bit words with user-defined operations). Started
/// all-reduces are progressed by `MPIProgress` when MPI allows threads.
///
/// In checked mode (`CollectiveChecking`) every collective first all-gathers
/// the ranks' (operation and dtype, size) so that a size, dtype or operation mismatch is a
/// clear error on every rank instead of undefined MPI behaviour. MPI itself has no timeouts, so a watchdog thread
/// watches the operation in progress: one that runs past `timeout` seconds
/// prints an error naming the rank, group, operation and sequence number and
/// calls MPI_Abort, which stops every process of the job.
public final class MPIGroup: ProcessGroup, ProcessGroupFactory, @unchecked Sendable {
    public let rank: Int
    public let size: Int
    public let name: String
    public let members: [Int]
    public let worldRank: Int
    let comm: MPI_Comm
    let watchdog: MPIWatchdog
    private(set) var seq = 0

    /// The job's size and this process's rank as Open MPI's launcher set them
    /// (OMPI_COMM_WORLD_SIZE/RANK), readable before MPI is initialised; nil
    /// when not started by mpirun.
    public static var launched: (size: Int, rank: Int)? {
        let env = ProcessInfo.processInfo.environment
        guard let size = env["OMPI_COMM_WORLD_SIZE"].flatMap({ Int($0) }) else { return nil }
        return (size, env["OMPI_COMM_WORLD_RANK"].flatMap { Int($0) } ?? 0)
    }

    /// Processes of the job on this machine (OMPI_COMM_WORLD_LOCAL_SIZE; 1 when not under mpirun).
    public static var launchedOnThisNode: Int {
        ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap { Int($0) } ?? 1
    }

    /// Whether this process was started by Open MPI's launcher.
    public static var launchedByMPI: Bool { launched != nil }

    /// Initialises MPI (once per process) and returns the world group.
    public static func world(timeout: Double = 60) throws -> MPIGroup {
        var provided: Int32 = 0
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        if initialized == 0 {
            let rc = MPI_Init_thread(nil, nil, Int32(MPI_THREAD_MULTIPLE), &provided)
            guard rc == MPI_SUCCESS else { throw CommError("MPI_Init_thread failed with code \(rc)") }
        }
        Compute.threads = 1  // one process per rank: one kernel/BLAS thread each
        if progress == nil { progress = MPIProgress.start() }
        let comm: MPI_Comm = tessera_mpi_comm_world()!
        _ = tessera_mpi_errors_return(comm)
        var r: Int32 = 0, n: Int32 = 0
        MPI_Comm_rank(comm, &r)
        MPI_Comm_size(comm, &n)
        return MPIGroup(comm: comm, rank: Int(r), members: Array(0..<Int(n)), worldRank: Int(r), name: "world",
                        watchdog: MPIWatchdog(worldRank: Int(r), timeout: timeout))
    }

    init(comm: MPI_Comm, rank: Int, members: [Int], worldRank: Int, name: String, watchdog: MPIWatchdog) {
        self.comm = comm; self.rank = rank; self.size = members.count; self.members = members
        self.worldRank = worldRank; self.name = name; self.watchdog = watchdog
    }

    /// Prints `message` to stderr and stops every process of the MPI job.
    public static func abort(_ message: String, code: Int32 = 1) -> Never {
        FileHandle.standardError.write(Data(message.utf8))
        MPILiveness.shared?.sayBye()
        MPI_Abort(tessera_mpi_comm_world(), code)
        exit(code)
    }

    /// Finalises MPI; call once at the end of the process.
    public static func finalize() {
        MPILiveness.shared?.sayBye()
        MPI_Finalize()
    }

    /// A sub-group via MPI_Comm_split. Collective over this group: every rank
    /// calls it in the same order (each naming its own group's members).
    public func subgroup(members: [Int], name: String) -> ProcessGroup {
        var newComm: MPI_Comm? = nil
        let color = Int32(members.min()!), key = Int32(members.firstIndex(of: worldRank)!)
        watchdog.guarding("\(self.name) split→\(name)", seq: 0) {
            _ = MPI_Comm_split(comm, color, key, &newComm)
        }
        _ = tessera_mpi_errors_return(newComm!)
        return MPIGroup(comm: newComm!, rank: Int(key), members: members, worldRank: worldRank, name: name,
                        watchdog: watchdog)
    }

    func check(_ rc: Int32, _ op: String) throws {
        guard rc == MPI_SUCCESS else {
            // A failure because a rank was lost is reported by MPILiveness (one line, the lost ranks named): wait for it.
            if let liveness = MPILiveness.shared {
                watchdog.guarding("group \(name) \(op)", seq: seq, members: members) { liveness.holdIfLost() }
            }
            throw CommError("rank \(worldRank): \(op) #\(seq) in group \(name) failed with MPI error code \(rc)")
        }
    }

    /// Agrees on (operation, dtype, size) across the group before a collective.
    private func begin(_ op: String, count: Int, dtype: DType = .int64) throws {
        seq += 1
        let tag = Int(fnv1a64(op + "/" + dtype.rawValue) & 0xffff_ffff)
        let all = try exchangeInts([tag, count], during: op)
        for q in 0..<size {
            if all[2 * q] != tag {
                throw CommError("group \(name): rank \(members[q]) called a different collective than \(op) #\(seq) "
                                + "of \(dtype) on rank \(worldRank); every member must issue the same collectives "
                                + "(and dtypes) in the same order")
            }
            if all[2 * q + 1] != count {
                throw CommError("group \(name), \(op) #\(seq): rank \(members[q]) passed \(all[2 * q + 1]) elements but "
                                + "rank \(worldRank) passed \(count); all ranks must pass the same size")
            }
        }
    }

    private func exchangeInts(_ values: [Int], during op: String) throws -> [Int] {
        var send = values.map(Int64.init)
        var recv = [Int64](repeating: 0, count: values.count * size)
        let rc = watchdog.guarding("group \(name) \(op)", seq: seq, members: members) {
            MPI_Allgather(&send, Int32(values.count), tessera_mpi_int64(), &recv, Int32(values.count),
                          tessera_mpi_int64(), comm)
        }
        try check(rc, "allGather(ints)")
        return recv.map(Int.init)
    }

    /// Numbers the next collective and, in checked mode, agrees on (op, dtype, count) first.
    func next(_ op: String, count: Int, dtype: DType) throws {
        if CollectiveChecking.enabled { try begin(op, count: count, dtype: dtype) } else { seq += 1 }
    }

    /// One collective: number it (checking it in checked mode), run `call` under the watchdog, check its return code.
    private func collective(_ op: String, _ buf: CommBuffer, _ call: () -> Int32) throws {
        try next(op, count: buf.count, dtype: buf.dtype)
        try check(watchdog.guarding("group \(name) \(op)", seq: seq, members: members, call), op)
    }

    public func allReduce(_ buf: CommBuffer, op: ReduceOp) throws {
        try checkReduction(op, buf, "allReduce")
        if size == 1 { return }
        try collective("allReduce", buf) {
            MPI_Allreduce(tessera_mpi_in_place(), buf.raw, Int32(buf.count), MPIType.of(buf.dtype),
                          MPIType.op(op, buf.dtype), comm)
        }
        if op == .average { ElementReduction.divide(buf.raw, count: buf.count, dtype: buf.dtype, by: size) }
    }

    /// MPI_IN_PLACE when `send` is recv's slice at this rank's place (an in-place all-gather), else send.
    func gatherSource(_ send: CommBuffer, _ recv: CommBuffer) -> UnsafeRawPointer {
        send.raw == recv.raw + rank * send.byteCount ? UnsafeRawPointer(tessera_mpi_in_place()) : UnsafeRawPointer(send.raw)
    }

    /// In place (MPI_IN_PLACE) when `send` is recv's slice at rank·n.
    public func allGather(_ send: CommBuffer, into recv: CommBuffer) throws {
        try checkAllGather(send, recv)
        if size == 1 { return copyAlone(send, into: recv) }
        let type = MPIType.of(send.dtype), source = gatherSource(send, recv)
        try collective("allGather", send) {
            MPI_Allgather(source, Int32(send.count), type, recv.raw, Int32(send.count), type, comm)
        }
    }

    /// In place when `recv` is send's chunk(rank): MPI_IN_PLACE leaves the
    /// result at the buffer's start, from where it moves to its chunk.
    public func reduceScatter(_ send: CommBuffer, into recv: CommBuffer, op: ReduceOp) throws {
        try checkReduceScatter(send, recv, op)
        if size == 1 { return copyAlone(send, into: recv) }
        var counts = (0..<size).map { Int32(chunk($0, of: send.count).count) }
        let inPlace = isInPlaceScatter(send, recv)
        try collective("reduceScatter", send) {
            MPI_Reduce_scatter(inPlace ? UnsafeRawPointer(tessera_mpi_in_place()) : UnsafeRawPointer(send.raw),
                               inPlace ? send.raw : recv.raw, &counts, MPIType.of(send.dtype),
                               MPIType.op(op, send.dtype), comm)
        }
        finishScatter(send, recv, inPlace: inPlace, op: op)
    }

    /// Whether `recv` is send's own chunk (an in-place reduce-scatter).
    func isInPlaceScatter(_ send: CommBuffer, _ recv: CommBuffer) -> Bool {
        recv.raw == send.raw + chunk(rank, of: send.count).lowerBound * send.dtype.size
    }

    /// After a reduce-scatter: moves an in-place result from the buffer's start to its chunk; averages.
    func finishScatter(_ send: CommBuffer, _ recv: CommBuffer, inPlace: Bool, op: ReduceOp) {
        if inPlace && recv.raw != send.raw { memmove(recv.raw, send.raw, recv.byteCount) }
        if op == .average { ElementReduction.divide(recv.raw, count: recv.count, dtype: recv.dtype, by: size) }
    }

    public func allToAll(_ send: CommBuffer, into recv: CommBuffer) throws {
        try checkAllToAll(send, recv)
        if size == 1 { return copyAlone(send, into: recv) }
        let type = MPIType.of(send.dtype), n = Int32(send.count / size)
        try collective("allToAll", send) { MPI_Alltoall(send.raw, n, type, recv.raw, n, type, comm) }
    }

    public func allToAll(_ send: CommBuffer, sendCounts: [Int], into recv: CommBuffer, recvCounts: [Int]) throws {
        if try allToAllAlone(send, sendCounts: sendCounts, into: recv, recvCounts: recvCounts) { return }
        try next("allToAll(v)", count: size, dtype: send.dtype)
        if CollectiveChecking.enabled {
            // Every rank learns every send count, so a disagreement is reported on all ranks.
            let all = try exchangeInts(sendCounts, during: "allToAll(v)")
            for q in 0..<size where all[q * size + rank] != recvCounts[q] {
                throw CommError("group \(name), allToAll #\(seq): rank \(members[q]) sends \(all[q * size + rank]) "
                                + "elements to rank \(worldRank), which expects \(recvCounts[q])")
            }
        }
        var sc = sendCounts.map(Int32.init), rcounts = recvCounts.map(Int32.init)
        var sd = offsets(sendCounts), rd = offsets(recvCounts)
        let type = MPIType.of(send.dtype)
        try check(watchdog.guarding("group \(name) allToAll(v)", seq: seq, members: members) {
            MPI_Alltoallv(send.raw, &sc, &sd, type, recv.raw, &rcounts, &rd, type, comm)
        }, "allToAll(v)")
    }

    private func offsets(_ counts: [Int]) -> [Int32] {
        var out: [Int32] = [], acc = 0
        for c in counts { out.append(Int32(acc)); acc += c }
        return out
    }

    public func broadcast(_ buf: CommBuffer, root: Int) throws {
        try checkRoot(root)
        if size == 1 { return }
        try collective("broadcast", buf) {
            MPI_Bcast(buf.raw, Int32(buf.count), MPIType.of(buf.dtype), Int32(root), comm)
        }
    }

    public func barrier() throws {
        if size == 1 { return }
        try completeSends(waiting: true)
        try begin("barrier", count: 0)
    }

    public func allGather(_ values: [Int]) throws -> [Int] {
        if size == 1 { return values }
        try next("allGather(ints)", count: values.count, dtype: .int64)
        return try exchangeInts(values, during: "allGather(ints)")
    }

    /// A send in flight: its two requests and the copies they read from.
    private typealias PendingSend = (requests: [MPI_Request?], header: UnsafeMutablePointer<Int64>,
                                     data: UnsafeMutableRawPointer)
    private var inFlight: [PendingSend] = []

    /// Eager, like the thread backend's: the data is copied and handed to
    /// MPI_Isend, so a send never waits for its receive. (A blocking MPI_Send
    /// of a large message waits for the matching receive, and two pipeline
    /// stages sending to each other at once would deadlock.) A header of
    /// (count, dtype) goes first, so a receive of another size or dtype is
    /// a clear error. Completed sends are freed on later calls and when the
    /// group is finished with.
    public func send(_ buf: CommBuffer, to peer: Int, tag: Int) throws {
        try checkPointToPoint(peer: peer, tag: tag, "send")
        try completeSends(waiting: false)
        let header = UnsafeMutablePointer<Int64>.allocate(capacity: 2)
        header[0] = Int64(buf.count)
        header[1] = Int64(MPIType.code(buf.dtype))
        let copy = UnsafeMutableRawPointer.allocate(byteCount: max(buf.byteCount, 8), alignment: 64)
        copy.copyMemory(from: buf.raw, byteCount: buf.byteCount)
        var requests: [MPI_Request?] = [nil, nil]
        var rc = MPI_Isend(header, 2, tessera_mpi_int64(), Int32(peer), Int32(2 * tag), comm, &requests[0])
        try check(rc, "send")
        rc = MPI_Isend(copy, Int32(buf.count), MPIType.of(buf.dtype), Int32(peer), Int32(2 * tag + 1), comm, &requests[1])
        try check(rc, "send")
        inFlight.append((requests, header, copy))
    }
    /// Frees the sends that have completed; with `waiting`, waits for all
    /// (under the watchdog, so a receiver that never comes aborts the job).
    public func completeSends(waiting: Bool) throws {
        var still: [PendingSend] = []
        for var entry in inFlight {
            var done: Int32 = 0
            let rc = waiting
                ? watchdog.guarding("\(name) wait for sends", seq: seq, members: members) {
                    MPI_Waitall(2, &entry.requests, tessera_mpi_statuses_ignore()) }
                : MPI_Testall(2, &entry.requests, &done, tessera_mpi_statuses_ignore())
            try check(rc, "send")
            if waiting || done != 0 {
                entry.header.deallocate()
                entry.data.deallocate()
            } else {
                still.append(entry)
            }
        }
        inFlight = still
    }

    public func recv(_ buf: CommBuffer, from peer: Int, tag: Int) throws {
        try checkPointToPoint(peer: peer, tag: tag, "recv")
        var header: [Int64] = [0, 0]
        var rc = watchdog.guarding("group \(name) recv header from \(members[peer]) tag \(tag)", seq: seq, members: [members[peer]]) {
            MPI_Recv(&header, 2, tessera_mpi_int64(), Int32(peer), Int32(2 * tag), comm, tessera_mpi_status_ignore())
        }
        try check(rc, "recv")
        guard header[0] == buf.count, header[1] == MPIType.code(buf.dtype) else {
            let sent = DType.allCases.indices.contains(Int(header[1])) ? "\(DType.allCases[Int(header[1])])" : "?"
            throw CommError("group \(name): rank \(members[peer]) sent \(header[0]) \(sent) elements with tag \(tag) but "
                            + "rank \(worldRank) expected \(buf.count) \(buf.dtype)")
        }
        rc = watchdog.guarding("group \(name) recv from \(members[peer]) tag \(tag)", seq: seq, members: [members[peer]]) {
            MPI_Recv(buf.raw, Int32(buf.count), MPIType.of(buf.dtype), Int32(peer), Int32(2 * tag + 1), comm,
                     tessera_mpi_status_ignore())
        }
        try check(rc, "recv")
    }
}
