import Foundation

/// Faults injected on purpose, to test that Tessera survives them: chosen by
/// the environment variable `TESSERA_FAULT`, read once; without it every
/// hook is a no-op. Values:
/// - `kill-at:POINT` — the process kills itself with SIGKILL when a
///   checkpoint save reaches POINT (one of `savePoints`, or `between-renames`
///   where the file system cannot exchange two directories), as a power cut would;
/// - `full-disk:NAME` — writing a file whose name ends in NAME fails with
///   ENOSPC (No space left on device);
/// - `rank-error:R:S` — world rank R throws an error in the middle of step S
///   (1-based), after its forward and backward, as a failing rank would (the
///   job exits 4, a failed rank).
public enum FaultInjection {
    /// The points of a checkpoint save, in order.
    public static let savePoints = ["staging-created", "model-written", "optimizer-written", "marker-written",
                                    "swapped", "cleaned"]

    static let spec: [Substring] = ProcessInfo.processInfo.environment["TESSERA_FAULT"]?
        .split(separator: ":") ?? []

    /// Kills the process if the fault names this save point.
    package static func reached(_ point: String) {
        if spec.count == 2 && spec[0] == "kill-at" && spec[1] == point { kill(getpid(), SIGKILL) }
    }

    /// ENOSPC if the fault fills the disk for `path`, else nil.
    static func writeFailure(path: String) -> Int32? {
        spec.count == 2 && spec[0] == "full-disk" && path.hasSuffix(spec[1]) ? ENOSPC : nil
    }

    /// Throws if the fault fails world rank `rank` at step `step` (1-based).
    package static func step(rank: Int, step: Int) throws {
        guard spec.count == 3, spec[0] == "rank-error", Int(spec[1]) == rank, Int(spec[2]) == step else { return }
        throw InjectedRankFault(description: "injected error on rank \(rank) in step \(step) (TESSERA_FAULT)")
    }

    /// A rank's own failure (not a Tessera error of any kind), so the job
    /// reports it as a failed rank: communication kind, exit status 4, on threads as under MPI.
    struct InjectedRankFault: Error, CustomStringConvertible {
        let description: String
    }
}
