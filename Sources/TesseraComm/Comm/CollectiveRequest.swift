import Foundation
import Synchronization
import TesseraKernels

/// A collective in flight: `ProcessGroup.startAllReduce` returns one at
/// once, and the buffer it was given must stay alive and untouched until
/// `wait()` returns. Waiting twice is allowed (the second returns at once,
/// rethrowing the first failure).
public final class CollectiveRequest: @unchecked Sendable {
    private let lock = NSLock()
    private var finish: (() throws -> Void)?
    private var failure: Error?

    /// A request that `finish` completes (blocking until the operation is done).
    public init(finish: @escaping () throws -> Void) { self.finish = finish }

    /// A request that is already complete.
    public static var completed: CollectiveRequest { CollectiveRequest {} }

    /// Blocks until the operation has completed; throws its error, if any.
    public func wait() throws {
        try lock.withLock {
            if let f = finish {
                finish = nil
                do { try f() } catch { failure = error }
            }
            if let failure { throw failure }
        }
    }
}

/// Whether collectives first check that every rank called the same
/// operation with the same size (the MPI backend all-gathers (operation,
/// size) before each one: twice the latency of a small collective). Off by
/// default; `tessera verify`, `tessera check comm` and the tests turn it on,
/// and `TESSERA_CHECKED_COLLECTIVES=1` turns it on for any command. With it
/// off, a mismatch is undefined MPI behaviour that the watchdog turns into a
/// timeout error. The thread backend always checks (it exchanges buffer
/// addresses anyway, at no extra cost).
public enum CollectiveChecking {
    private static let flag = Atomic<Bool>(ProcessInfo.processInfo.environment["TESSERA_CHECKED_COLLECTIVES"] == "1")

    /// Whether checked mode is on.
    public static var enabled: Bool {
        get { flag.load(ordering: .relaxed) }
        set { flag.store(newValue, ordering: .relaxed) }
    }
}
