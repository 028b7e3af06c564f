import Foundation
import TesseraSupport

/// The matrix-product rate of this machine, measured through the same
/// `BLAS.gemm` and operands the model uses: what MFU and the benchmarks
/// divide by.
public enum ProductRate {
    /// Sustained matrix-product rate at `precision` on `threads` threads:
    /// the fastest of several n×n×n products (n = 2048, after one warm-up)
    /// through the same `BLAS.gemm` on product operands that the model uses.
    /// The fastest, not the median: a product slowed by another process on a
    /// shared machine would lower the peak and overstate every MFU against it
    /// (a median once gave 108 GFLOP/s for two threads that reach 196).
    public static func measure(threads: Int, precision: Precision = .fp32, n: Int = 2048, repeats: Int = 5) -> Double {
        rates(threads: threads, precision: precision, n: n, repeats: repeats).wall
    }

    /// The fastest of the products (as `measure`) in GFLOP/s of wall-clock
    /// time, and in GFLOP per CPU second of the process (over all threads):
    /// the second does not fall when other jobs share the cores, so a
    /// benchmark that times its steps in CPU seconds too can state an MFU
    /// that load cannot push above 100%.
    public static func rates(threads: Int, precision: Precision = .fp32, n: Int = 2048,
                             repeats: Int = 5) -> (wall: Double, perCPUSecond: Double) {
        let a = Tensor([n, n]), b = Tensor([n, n]), c = Tensor([n, n])
        for i in 0..<a.count { a[i] = Float(i % 7) * 0.01; b[i] = Float(i % 5) * 0.01 }
        let pa = precision.operand(a), pb = precision.operand(b)
        var wall: [Double] = [], cpu: [Double] = []
        for _ in 0...repeats {
            let t0 = DispatchTime.now().uptimeNanoseconds, c0 = ProcessCPUTime.seconds()
            Compute.withThreads(threads) {
                BLAS.gemm(transA: false, transB: false, m: n, n: n, k: n, a: pa, lda: n, b: pb, ldb: n,
                          c: c.data, ldc: n)
            }
            wall.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            cpu.append(ProcessCPUTime.seconds() - c0)
        }
        let flops = 2 * Double(n) * Double(n) * Double(n)
        return (flops / wall.dropFirst().min()! / 1e9, flops / cpu.dropFirst().min()! / 1e9)
    }
}
