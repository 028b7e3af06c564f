import Foundation
import Tessera

/// One HTTP request's sequences in the engine, as an async stream of
/// events for the handler: each choice's bytes as the steps make them, its
/// end, and a timeout. Ending the stream early (the handler returns or
/// throws: a client that went away, a timeout) cancels every sequence still
/// running, so their KV blocks go back to the pool within a round.
struct EngineSession: Sendable {
    enum Event: Sendable {
        case token(choice: Int, byte: UInt8)
        /// The next token's log-probabilities (sequences that asked for them), just before its `.token`.
        case logprobs(choice: Int, TokenLogprobs)
        case finished(choice: Int)
        case timedOut
    }

    let events: AsyncStream<Event>
    let ids: [Int]
    /// Ends the stream now (the handler is done, or its client went away): cancels what still runs.
    let close: @Sendable () -> Void

    /// Submits `requests` (choices 0 ..< count, in order) and times them out after `timeout` seconds.
    init(engine: ServingEngine, requests: [ServingRequest], timeout: Double, metrics: ServeMetrics, arrival: ContinuousClock.Instant) {
        let (stream, continuation) = AsyncStream<Event>.makeStream()
        events = stream
        let sequenceIDs = requests.map(\.id)
        ids = sequenceIDs
        close = { continuation.finish() }
        let clock = LatencyClock(arrival: arrival, sequences: requests.count)
        for (choice, request) in requests.enumerated() {
            engine.submit(request) { event in
                switch event {
                case .token(_, let token):  // a byte: serve runs byte-level models
                    clock.token(choice, metrics: metrics)
                    continuation.yield(.token(choice: choice, byte: UInt8(truncatingIfNeeded: token)))
                case .logprobs(_, let lp):
                    continuation.yield(.logprobs(choice: choice, lp))
                case .finished:
                    continuation.yield(.finished(choice: choice))
                }
            }
        }
        let timer = Task {
            try await Task.sleep(for: .seconds(timeout))
            continuation.yield(.timedOut)
        }
        continuation.onTermination = { _ in
            timer.cancel()
            for id in sequenceIDs { engine.cancel(id) }
        }
    }
}

/// Times each sequence's tokens: the first against the request's arrival
/// (time to first token), the others against the one before (inter-token latency).
private final class LatencyClock: @unchecked Sendable {
    private let lock = NSLock()
    private let arrival: ContinuousClock.Instant
    private var last: [ContinuousClock.Instant?]

    init(arrival: ContinuousClock.Instant, sequences: Int) {
        self.arrival = arrival
        last = Array(repeating: nil, count: sequences)
    }

    func token(_ choice: Int, metrics: ServeMetrics) {
        let now = ContinuousClock.now
        let previous = lock.withLock { () -> ContinuousClock.Instant? in
            defer { last[choice] = now }
            return last[choice]
        }
        if let previous { metrics.interTokenLatency.record(now - previous) } else { metrics.timeToFirstToken.record(now - arrival) }
        metrics.generationTokens.increment()
    }
}
