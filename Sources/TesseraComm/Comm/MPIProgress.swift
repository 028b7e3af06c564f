import CMPI
import Foundation

/// A helper thread that drives started MPI operations forward while the
/// rank computes. Open MPI advances a non-blocking collective only inside
/// MPI calls (its asynchronous progress is off: `ompi_info` says "OMPI
/// progress: no"), so without this an all-reduce started during backward
/// mostly runs in the final wait. The thread calls MPI_Test on each
/// outstanding request every `interval` and records each completion; it
/// sleeps when nothing is outstanding. A rank that comes to wait for a
/// request the thread has not completed takes it back and finishes it with
/// MPI_Wait itself (at full speed, instead of at the thread's polling rate).
///
/// It needs MPI_THREAD_MULTIPLE (the rank's thread makes MPI calls at the
/// same time). `MPIProgress.start` returns nil when the library provides a
/// lower level, or when `TESSERA_MPI_PROGRESS=0` turns it off; requests are
/// then completed by MPI_Wait in `wait()`, as before.
final class MPIProgress: @unchecked Sendable {
    /// A tracked request's completion: MPI's return code once it is known
    /// (read and written under the progress lock).
    final class Completion: @unchecked Sendable {
        fileprivate var code: Int32?
    }

    private let cond = NSCondition()
    private var outstanding: [(request: MPI_Request?, completion: Completion)] = []
    /// Time between two rounds of MPI_Test while requests are outstanding.
    let interval: Double

    private init(interval: Double) { self.interval = interval }

    /// The thread level MPI provided this process (MPI_Query_thread).
    static var providedThreadLevel: Int32 {
        var level: Int32 = 0
        MPI_Query_thread(&level)
        return level
    }

    /// Starts the helper thread, or returns nil when MPI lacks
    /// MPI_THREAD_MULTIPLE or `TESSERA_MPI_PROGRESS=0` is set.
    static func start(interval: Double = 50e-6) -> MPIProgress? {
        guard ProcessInfo.processInfo.environment["TESSERA_MPI_PROGRESS"] != "0",
              providedThreadLevel == tessera_mpi_thread_multiple() else { return nil }
        let progress = MPIProgress(interval: interval)
        let thread = Thread { progress.loop() }
        thread.name = "tessera.mpi-progress"
        thread.start()
        return progress
    }

    /// Hands `request` to the thread; the returned completion is signalled when MPI_Test reports it done.
    func track(_ request: MPI_Request?) -> Completion {
        let completion = Completion()
        cond.withLock {
            outstanding.append((request, completion))
            cond.signal()
        }
        return completion
    }

    /// Blocks until the tracked request of `completion` is complete and
    /// returns MPI's code: at once if the thread completed it, else by
    /// taking it back and calling MPI_Wait on this thread.
    func wait(_ completion: Completion) -> Int32 {
        cond.lock()
        if let code = completion.code {
            cond.unlock()
            return code
        }
        let i = outstanding.firstIndex { $0.completion === completion }!
        var entry = outstanding.remove(at: i)
        cond.unlock()
        let code = MPI_Wait(&entry.request, tessera_mpi_status_ignore())
        cond.withLock { completion.code = code }
        return code
    }

    private func loop() {
        while true {
            cond.lock()
            while outstanding.isEmpty { cond.wait() }
            var still: [(request: MPI_Request?, completion: Completion)] = []
            for var entry in outstanding {
                var flag: Int32 = 0
                let rc = MPI_Test(&entry.request, &flag, tessera_mpi_status_ignore())
                if rc != MPI_SUCCESS || flag != 0 { entry.completion.code = rc } else { still.append(entry) }
            }
            outstanding = still
            cond.unlock()
            if !still.isEmpty { Thread.sleep(forTimeInterval: interval) }
        }
    }
}
