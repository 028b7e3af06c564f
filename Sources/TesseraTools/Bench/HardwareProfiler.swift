import Foundation
import Synchronization
import TesseraKernels
import TesseraComm
import TesseraCost

/// Measures this machine for `tessera bench profile`: what one rank gets
/// when every core runs a rank (one engine thread each, as thread ranks and
/// MPI processes run), so the planner predicts Tessera's own layouts.
public enum HardwareProfiler {
    /// Product shapes (m, n, k) the rate is fitted to: cubes and the
    /// rectangles a transformer block multiplies.
    static let shapes: [(Int, Int, Int)] = [(128, 128, 128), (256, 256, 256), (512, 512, 512), (1024, 1024, 1024),
                                            (2048, 512, 512), (2048, 1536, 512), (2048, 2048, 512), (1536, 1536, 1536)]

    /// Seconds for one m×k by k×n product at `precision` on each of `ranks`
    /// threads at once (one engine thread each): the fastest of `repeats` after a warm-up (the
    /// machine's rate when nothing else competes for it; a shared machine only slows runs down).
    public static func productSeconds(m: Int, n: Int, k: Int, precision: Precision, ranks: Int,
                                      repeats: Int = 5) -> Double {
        let a = Tensor([m, k]), b = Tensor([k, n])
        for i in 0..<a.count { a[i] = Float(i % 7) * 0.01 }
        for i in 0..<b.count { b[i] = Float(i % 5) * 0.01 }
        let pa = precision.operand(a), pb = precision.operand(b)
        let outputs = (0..<ranks).map { _ in Tensor([m, n]) }
        var times: [Double] = []
        for _ in 0...repeats {
            let t0 = DispatchTime.now().uptimeNanoseconds
            DispatchQueue.concurrentPerform(iterations: ranks) { r in
                Compute.withThreads(1) {
                    BLAS.gemm(transA: false, transB: false, m: m, n: n, k: k, a: pa, lda: k, b: pb, ldb: n,
                              c: outputs[r].data, ldc: n)
                }
            }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return times.dropFirst().min()!
    }

    /// r∞ and n½ by least squares of seconds/FLOPs = 1/r∞ + (n½/r∞)·(1/m + 1/n + 1/k) over `shapes`.
    public static func fitMatmul(precision: Precision, ranks: Int) -> HardwareProfile.MatmulFit {
        let points = shapes.map { (m, n, k) -> (q: Double, y: Double) in
            let t = productSeconds(m: m, n: n, k: k, precision: precision, ranks: ranks)
            return (1 / Double(m) + 1 / Double(n) + 1 / Double(k), t / (2 * Double(m) * Double(n) * Double(k)))
        }
        let count = Double(points.count)
        let mq = points.reduce(0) { $0 + $1.q } / count, my = points.reduce(0) { $0 + $1.y } / count
        let slope = points.reduce(0) { $0 + ($1.q - mq) * ($1.y - my) } / points.reduce(0) { $0 + ($1.q - mq) * ($1.q - mq) }
        let intercept = my - slope * mq
        return HardwareProfile.MatmulFit(peakFlops: 1 / intercept, halfSize: max(0, slope / intercept))
    }

    /// Bytes per second (read + written) one rank streams while `ranks` copy at once.
    public static func memoryBandwidth(ranks: Int, bytes: Int = 64 << 20) -> Double {
        let buffers = (0..<ranks).map { _ in (Tensor(uninitialized: [bytes / 4]), Tensor(uninitialized: [bytes / 4])) }
        for (a, b) in buffers { a.data.update(repeating: 1, count: a.count); b.data.update(repeating: 0, count: b.count) }
        var best = Double.infinity
        for _ in 0..<5 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            DispatchQueue.concurrentPerform(iterations: ranks) { r in memcpy(buffers[r].1.data, buffers[r].0.data, bytes) }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return 2 * Double(bytes) / best
    }

    /// α and β of all-reduce on `group` (every member calls this): α from a
    /// 4 KiB message, β from a 16 MiB one, by the ring formula of `CollectiveModel`.
    public static func allReduceLink(group g: ProcessGroup) throws -> Link {
        let n = Double(g.size)
        let small = try CommBenchmark.time(.allReduce, group: g, bytes: 4096, iterations: 50)
        let bigBytes = 16 << 20
        let big = try CommBenchmark.time(.allReduce, group: g, bytes: bigBytes, iterations: 5)
        let alpha = small / (2 * (n - 1))
        let beta = 2 * (n - 1) / n * Double(bigBytes) / max(big - 2 * (n - 1) * alpha, 1e-9)
        return Link(bandwidth: beta, latency: alpha)
    }

    /// α and β of all-reduce among `ranks` threads of this process.
    public static func threadLink(ranks: Int) throws -> Link {
        let out = Mutex<Link?>(nil)
        try ThreadWorld.run(size: ranks) { g in
            let link = try allReduceLink(group: g)
            if g.rank == 0 { out.withLock { $0 = link } }
        }
        return out.withLock { $0 }!
    }
}
