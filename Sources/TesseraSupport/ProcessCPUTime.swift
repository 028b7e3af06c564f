import Foundation

/// CPU seconds this process has used so far, over all its threads
/// (`CLOCK_PROCESS_CPUTIME_ID`). On a shared machine wall-clock time
/// measures the other jobs as much as the work; CPU time measures the work:
/// a rate per CPU second (benchmarks' MFU, generation's cpu-tok/s) does not
/// change when the cores are shared.
public enum ProcessCPUTime {
    public static func seconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }
}
