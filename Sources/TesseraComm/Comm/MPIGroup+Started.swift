import CMPI

/// The started (non-blocking) collectives of the MPI backend: each is MPI's
/// non-blocking operation, handed to `MPIProgress`'s helper thread when MPI
/// allows threads, and waited for under the watchdog. In checked mode the
/// (operation, dtype, size) agreement runs before the start, as for the
/// blocking forms.
extension MPIGroup {
    /// The helper thread that progresses started operations (nil: MPI lacks
    /// MPI_THREAD_MULTIPLE or it is turned off; see `MPIProgress`).
    nonisolated(unsafe) static var progress: MPIProgress?

    /// Whether started operations progress on a helper thread while the rank computes.
    public static var progressesInBackground: Bool { progress != nil }

    /// MPI_Iallreduce, handed to the progress thread when there is one;
    /// `wait()` waits for it (or is MPI_Wait) under the watchdog.
    public func startAllReduce(_ buf: CommBuffer, op: ReduceOp) throws -> CollectiveRequest {
        try checkReduction(op, buf, "allReduce")
        if size == 1 { return .completed }
        try next("allReduce", count: buf.count, dtype: buf.dtype)
        var request: MPI_Request? = nil
        try check(MPI_Iallreduce(tessera_mpi_in_place(), buf.raw, Int32(buf.count), MPIType.of(buf.dtype),
                                 MPIType.op(op, buf.dtype), comm, &request), "allReduce")
        let ranks = size
        return waiting(request, "allReduce") {
            if op == .average { ElementReduction.divide(buf.raw, count: buf.count, dtype: buf.dtype, by: ranks) }
        }
    }

    /// The request of the operation just started as `request` (number `seq`):
    /// progressed by the helper thread when there is one, waited for under
    /// the watchdog, then `then`.
    private func waiting(_ request: MPI_Request?, _ op: String, then: @escaping () -> Void) -> CollectiveRequest {
        let started = seq, progress = MPIGroup.progress, tracked = progress?.track(request)
        return CollectiveRequest { [self] in
            var r = request
            try check(watchdog.guarding("group \(name) \(op) (started)", seq: started, members: members) {
                if let progress, let tracked { return progress.wait(tracked) }
                return MPI_Wait(&r, tessera_mpi_status_ignore())
            }, op)
            then()
        }
    }

    /// MPI_Iallgather (in place as `allGather`).
    public func startAllGather(_ send: CommBuffer, into recv: CommBuffer) throws -> CollectiveRequest {
        try checkAllGather(send, recv)
        if size == 1 { copyAlone(send, into: recv); return .completed }
        try next("allGather", count: send.count, dtype: send.dtype)
        let type = MPIType.of(send.dtype)
        var request: MPI_Request? = nil
        try check(MPI_Iallgather(gatherSource(send, recv), Int32(send.count), type, recv.raw, Int32(send.count), type,
                                 comm, &request), "allGather")
        return waiting(request, "allGather") {}
    }

    /// MPI_Ireduce_scatter (in place as `reduceScatter`).
    public func startReduceScatter(_ send: CommBuffer, into recv: CommBuffer, op: ReduceOp) throws -> CollectiveRequest {
        try checkReduceScatter(send, recv, op)
        if size == 1 { copyAlone(send, into: recv); return .completed }
        try next("reduceScatter", count: send.count, dtype: send.dtype)
        let counts = UnsafeMutablePointer<Int32>.allocate(capacity: size)
        for q in 0..<size { counts[q] = Int32(chunk(q, of: send.count).count) }
        let inPlace = isInPlaceScatter(send, recv)
        var request: MPI_Request? = nil
        let rc = MPI_Ireduce_scatter(inPlace ? UnsafeRawPointer(tessera_mpi_in_place()) : UnsafeRawPointer(send.raw),
                                     inPlace ? send.raw : recv.raw, counts, MPIType.of(send.dtype),
                                     MPIType.op(op, send.dtype), comm, &request)
        if rc != MPI_SUCCESS { counts.deallocate() }
        try check(rc, "reduceScatter")
        return waiting(request, "reduceScatter") { [self] in
            counts.deallocate()
            finishScatter(send, recv, inPlace: inPlace, op: op)
        }
    }

    /// MPI_Ialltoall (equal splits).
    public func startAllToAll(_ send: CommBuffer, into recv: CommBuffer) throws -> CollectiveRequest {
        try checkAllToAll(send, recv)
        if size == 1 { copyAlone(send, into: recv); return .completed }
        try next("allToAll", count: send.count, dtype: send.dtype)
        let type = MPIType.of(send.dtype), n = Int32(send.count / size)
        var request: MPI_Request? = nil
        try check(MPI_Ialltoall(send.raw, n, type, recv.raw, n, type, comm, &request), "allToAll")
        return waiting(request, "allToAll") {}
    }

    /// MPI_Ibcast.
    public func startBroadcast(_ buf: CommBuffer, root: Int) throws -> CollectiveRequest {
        try checkRoot(root)
        if size == 1 { return .completed }
        try next("broadcast", count: buf.count, dtype: buf.dtype)
        var request: MPI_Request? = nil
        try check(MPI_Ibcast(buf.raw, Int32(buf.count), MPIType.of(buf.dtype), Int32(root), comm, &request), "broadcast")
        return waiting(request, "broadcast") {}
    }
}
