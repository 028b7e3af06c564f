import Foundation

/// How many threads one rank may use for its kernels. A one-rank run uses
/// every core it is given; ranks that are threads of one process each use one
/// (so the cores are shared, not oversubscribed). The matrix engine is always
/// called with one thread of its own: Tessera splits matrix products across
/// its own threads instead, so the same code path serves both cases.
///
/// The count is the process's unless the calling thread has its own
/// (`withThreads`): rank threads set theirs, so a multi-rank run never
/// changes what another caller in the process (another test, another world)
/// computes with.
public enum Compute {
    nonisolated(unsafe) private static var threadCount = 1
    /// This thread's own count, stored as a pointer-sized integer (absent: use the process's).
    private static let threadKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Threads the calling thread's kernels fan out to (at least 1): its own
    /// count inside `withThreads`, else the process's. Setting it sets the process's.
    public static var threads: Int {
        get { pthread_getspecific(threadKey).map { Int(bitPattern: $0) } ?? threadCount }
        set { threadCount = max(1, newValue) }
    }

    /// Runs `body` with the calling thread's kernels on `n` threads, whatever
    /// the process's count, and restores the thread's previous count after.
    public static func withThreads<T>(_ n: Int, _ body: () throws -> T) rethrows -> T {
        let previous = pthread_getspecific(threadKey)
        pthread_setspecific(threadKey, UnsafeRawPointer(bitPattern: max(1, n)))
        defer { pthread_setspecific(threadKey, previous) }
        return try body()
    }

    /// How many parts `work` independent items split into on this thread:
    /// `min(threads, work)`, at least 1. A kernel that sizes per-part
    /// buffers reads this once and hands the same count to
    /// `parallelParts(_:parts:_:)`, so a concurrent change of the process's
    /// count between the two cannot make a part write past its buffer or
    /// leave one unwritten.
    public static func parts(for work: Int) -> Int { max(1, min(threads, work)) }

    /// Runs `body(part, parts)` for each part in `0..<parts(for: work)`,
    /// reading the thread count once; inline when one.
    public static func parallelParts(_ work: Int, _ body: (_ part: Int, _ parts: Int) -> Void) {
        parallelParts(work, parts: parts(for: work), body)
    }

    /// Runs `body(part, parts)` for each part in `0..<parts` (a count from
    /// `parts(for: work)`) on that many threads; inline when one.
    public static func parallelParts(_ work: Int, parts: Int, _ body: (_ part: Int, _ parts: Int) -> Void) {
        precondition(parts >= 1 && parts <= max(1, work), "parallelParts: \(parts) parts for \(work) items")
        if parts == 1 { body(0, 1); return }
        // Kernels hand raw pointers to disjoint slices to each part; the box
        // tells the compiler the closure may cross threads, which the
        // partitioning makes safe.
        withoutActuallyEscaping(body) { escaping in
            let box = UncheckedSendable(escaping)
            DispatchQueue.concurrentPerform(iterations: parts) { box.value($0, parts) }
        }
    }

    /// Runs `body(range)` over contiguous slices of `0..<n` in parallel.
    public static func parallelRanges(_ n: Int, _ body: (Range<Int>) -> Void) {
        parallelParts(n) { part, parts in
            let lo = n * part / parts, hi = n * (part + 1) / parts
            if lo < hi { body(lo..<hi) }
        }
    }
}

/// Wraps a value the compiler cannot prove Sendable but that the caller
/// shares safely (kernels writing disjoint slices).
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
