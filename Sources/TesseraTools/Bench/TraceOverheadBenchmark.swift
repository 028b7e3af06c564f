import Foundation
import TesseraSupport

/// What one traced region costs: the nanoseconds of `Trace.begin` + `end`
/// with no recorder (tracing off: one branch) and with one (tracing on: two
/// clock reads and a store), timed over many calls, so the overhead of a
/// run follows from its events per step (`CommSummary`'s trace) without
/// relying on noisy whole-run timings alone.
public enum TraceOverheadBenchmark {
    /// (off, on) nanoseconds per region, best of `repeats` batches of `calls`.
    public static func regionCost(calls: Int = 1_000_000, repeats: Int = 5) -> (off: Double, on: Double) {
        func time(_ body: () -> Void) -> Double {
            (0..<repeats).map { _ in
                let t0 = TraceRecorder.now()
                body()
                return Double(TraceRecorder.now() - t0) / Double(calls)
            }.min()!
        }
        let off = time { for i in 0..<calls { let s = Trace.begin(.mlpForward, index: i); s.end() } }
        let recorder = TraceRecorder(worldRank: 0, reserve: calls, capacity: calls)
        let on = TraceRecorder.installed(recorder) {
            time { for i in 0..<calls { let s = Trace.begin(.mlpForward, index: i); s.end() } }
        }
        return (off, on)
    }
}
