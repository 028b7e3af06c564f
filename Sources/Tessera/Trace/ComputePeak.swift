import Foundation
import TesseraKernels
import TesseraTopology

/// The matrix-product rate MFU is measured against: the one-thread rate of
/// a 1024³ product at the run's precision (through the model's own
/// `BLAS.gemm`), times the threads the run's ranks use on this machine
/// (at most its cores). Measured once per process and precision (~0.3 s),
/// as the best of four products: on a shared machine the best is the closest
/// to what the core can do, and an MFU over a lowered peak would overstate.
public enum ComputePeak {
    nonisolated(unsafe) private static var perThread: [Precision: Double] = [:]
    private static let lock = NSLock()

    /// GFLOP/s of one thread at `precision`.
    public static func oneThread(_ precision: Precision) -> Double {
        lock.withLock {
            if let p = perThread[precision] { return p }
            let p = (0..<4).map { _ in ProductRate.measure(threads: 1, precision: precision, n: 1024, repeats: 1) }.max()!
            perThread[precision] = p
            return p
        }
    }

    /// GFLOP/s of the threads `config`'s ranks use here: ranks × kernel
    /// threads per rank (one per rank when there are several), capped at the cores.
    public static func of(_ config: TrainConfig) -> Double {
        let threads = config.worldSize > 1 ? config.worldSize : config.kernelThreads
        return oneThread(config.precision) * Double(min(threads, ProcessInfo.processInfo.activeProcessorCount))
    }
}
