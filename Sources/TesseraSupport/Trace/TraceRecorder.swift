import Foundation

/// One rank's event buffer: appends are a clock read and a store into
/// storage reserved up front (no locks: a recorder belongs to one rank, and
/// only that rank's thread writes it). Past `capacity` events it stops
/// recording and counts what it dropped, so a long run cannot exhaust memory.
public final class TraceRecorder: @unchecked Sendable {
    /// The rank this recorder belongs to.
    public let worldRank: Int
    /// Most events kept.
    public let capacity: Int
    /// Recorded events, in the order they ended.
    public private(set) var events: [TraceEvent] = []
    /// Events not kept because the buffer was full.
    public private(set) var dropped = 0

    /// A recorder for `worldRank` with room reserved for `reserve` events (it grows up to `capacity`).
    public init(worldRank: Int, reserve: Int = 1 << 16, capacity: Int = 4 << 20) {
        self.worldRank = worldRank
        self.capacity = capacity
        events.reserveCapacity(min(reserve, capacity))
    }

    /// Nanoseconds on the machine's monotonic clock.
    @inline(__always) public static func now() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) &* 1_000_000_000 &+ UInt64(t.tv_nsec)
    }

    /// Keeps `event` (or counts it dropped when full).
    @inline(__always) public func record(_ event: TraceEvent) {
        if events.count < capacity { events.append(event) } else { dropped += 1 }
    }

    // MARK: The recorder of the calling rank thread

    /// Whether any recorder is installed in this process: the one branch a
    /// region costs when tracing is off.
    nonisolated(unsafe) static var active = false
    nonisolated(unsafe) private static var key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k, nil)
        return k
    }()

    /// The recorder of the calling thread's rank, if it is tracing.
    public static var current: TraceRecorder? {
        guard active, let p = pthread_getspecific(key) else { return nil }
        return Unmanaged<TraceRecorder>.fromOpaque(p).takeUnretainedValue()
    }

    /// Runs `body` with `recorder` as the calling thread's recorder (nil: none).
    public static func installed<T>(_ recorder: TraceRecorder?, _ body: () throws -> T) rethrows -> T {
        guard let recorder else { return try body() }
        let retained = Unmanaged.passRetained(recorder)
        active = true
        pthread_setspecific(key, retained.toOpaque())
        defer {
            pthread_setspecific(key, nil)
            retained.release()
        }
        return try body()
    }
}

/// Marks compute regions on the calling rank's recorder:
/// `let span = Trace.begin(.mlpForward, name); defer { span.end() }`.
/// With tracing off this is one branch and nothing is allocated.
public enum Trace {
    /// An open region or pipeline action: `end()` records it.
    public struct Span {
        let recorder: TraceRecorder?
        let event: TraceEvent

        /// Records the span from its start to now.
        @inline(__always) public func end() {
            guard let recorder else { return }
            var e = event
            e.end = TraceRecorder.now()
            recorder.record(e)
        }
    }

    @inline(__always) static func open(_ event: @autoclosure () -> TraceEvent) -> Span {
        guard TraceRecorder.active, let r = TraceRecorder.current else {
            return Span(recorder: nil, event: TraceEvent(kind: .region, name: "", start: 0, end: 0))
        }
        var e = event()
        e.start = TraceRecorder.now()
        return Span(recorder: r, event: e)
    }

    /// Opens `region` (of layer `detail`; `index`: e.g. the step) on the calling rank's recorder.
    @inline(__always) public static func begin(_ region: TraceRegion, _ detail: String = "", index: Int = 0) -> Span {
        open({ var e = TraceEvent(kind: .region, name: region.rawValue, detail: detail, start: 0, end: 0)
               e.sequence = index
               return e }())
    }

    /// Runs `body` inside `region`.
    @inline(__always) public static func region<T>(_ region: TraceRegion, _ detail: String = "",
                                                   _ body: () throws -> T) rethrows -> T {
        let span = begin(region, detail)
        defer { span.end() }
        return try body()
    }

    /// Opens a pipeline action: `kind` F, B or W of `microBatch` on virtual stage `stage`.
    @inline(__always) public static func beginAction(_ kind: String, microBatch: Int, stage: Int) -> Span {
        open({ var e = TraceEvent(kind: .pipeline, name: kind, start: 0, end: 0)
               e.microBatch = microBatch
               e.stage = stage
               return e }())
    }
}
