import Foundation

/// A serial queue of blocking jobs (a rank's started collectives) on a
/// thread of its own. libdispatch runs queues on a pool of at most 255
/// threads, so with 256 rank threads each blocked in a started collective
/// on a dispatch queue, one rank never got a thread and the job timed out;
/// here each worker has its own thread while it has work (it lingers
/// `idleSeconds` for more, then ends, and the next job starts a new one).
final class RankWorker: @unchecked Sendable {
    private let cond = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var running = false
    /// Seconds an idle worker thread waits for another job before it ends.
    static let idleSeconds = 1.0

    /// Runs `job` after the jobs queued before it, on the worker's thread.
    func async(_ job: @escaping @Sendable () -> Void) {
        cond.lock()
        jobs.append(job)
        let start = !running
        running = true
        cond.signal()
        cond.unlock()
        guard start else { return }
        if RankThread.start(stackBytes: 64 << 20, { [self] in loop() }) != nil {
            // No thread to be had: run on the shared pool rather than not at all (below 255 ranks it suffices).
            DispatchQueue.global().async { [self] in loop() }
        }
    }

    private func loop() {
        cond.lock()
        while true {
            if !jobs.isEmpty {
                let job = jobs.removeFirst()
                cond.unlock()
                job()
                cond.lock()
                continue
            }
            if !cond.wait(until: Date().addingTimeInterval(Self.idleSeconds)) && jobs.isEmpty {
                running = false
                cond.unlock()
                return
            }
        }
    }
}
