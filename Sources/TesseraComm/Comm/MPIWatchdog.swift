import CMPI
import Foundation

/// Aborts the MPI job when one operation runs longer than the timeout.
final class MPIWatchdog: @unchecked Sendable {
    let worldRank: Int
    let timeout: Double
    private let lock = NSLock()
    private var current: (what: String, seq: Int, since: Date, members: [Int])?
    private var started = false

    init(worldRank: Int, timeout: Double) {
        self.worldRank = worldRank
        self.timeout = timeout
    }

    /// Runs `body` (a blocking MPI call among the world ranks `members`) under the watchdog.
    func guarding<T>(_ what: String, seq: Int, members: [Int] = [], _ body: () -> T) -> T {
        lock.withLock {
            current = (what, seq, Date(), members)
            if !started { started = true; startThread() }
        }
        defer { lock.withLock { current = nil } }
        return body()
    }

    /// The operation this rank waits in now (what, its number, the world
    /// ranks of its group, seconds waited so far); nil between operations.
    var operation: (what: String, seq: Int, members: [Int], waited: Double)? {
        lock.withLock { current.map { ($0.what, $0.seq, $0.members, Date().timeIntervalSince($0.since)) } }
    }

    private func startThread() {
        let t = Thread { [self] in
            while true {
                Thread.sleep(forTimeInterval: 0.1)
                let stuck: (String, Int)? = lock.withLock {
                    guard let c = current, Date().timeIntervalSince(c.since) > timeout else { return nil }
                    return (c.what, c.seq)
                }
                if let (what, seq) = stuck {
                    MPILiveness.shared?.reportIfLost()  // lost ranks (a vanished node answers no ping) are named instead
                    let msg = "tessera: error: timeout after \(timeout)s on rank \(worldRank): \(what) #\(seq) did not "
                        + "complete (another rank is missing or failed); aborting the MPI job\n"
                    FileHandle.standardError.write(Data(msg.utf8))
                    MPILiveness.shared?.sayBye()
                    MPI_Abort(tessera_mpi_comm_world(), 3)
                }
            }
        }
        t.start()
    }
}
