import Foundation
import TesseraKernels
import TesseraCost

/// Measures a decode step's per-unit rates for `tessera bench profile`
/// (`DecodeRates`), on one thread and in that thread's CPU time, so a
/// machine shared with other work still gives its own rates: a pass of
/// products over a transformer-shaped working set of weights (96 MiB, more
/// than a core's caches, as a model's layers are) at 1, 2, 4, … 64 rows,
/// seconds per weight byte at each, and the
/// decode attention over a KV cache of 16 sequences × 8 heads × 512
/// positions × 64 features (32 MiB of keys and values read).
public enum DecodeProfiler {
    /// The CPU seconds this thread has used.
    static func threadCPUSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    /// The least CPU seconds of `repeats` runs of `body` after one warm-up, on one engine thread.
    static func cpuSeconds(repeats: Int = 3, _ body: () -> Void) -> Double {
        Compute.withThreads(1) {
            body()
            var best = Double.infinity
            for _ in 0..<repeats {
                let t0 = threadCPUSeconds()
                body()
                best = min(best, threadCPUSeconds() - t0)
            }
            return best
        }
    }

    public static func measure() -> DecodeRates {
        // 12 blocks' worth of a d-512 layer's four products: 512×1536, 512×512, 512×2048, 2048×512, fp32.
        let shapes = Array(repeating: [(512, 1536), (512, 512), (512, 2048), (2048, 512)], count: 12).flatMap { $0 }
        // Stored [out, in] and read transposed, as `Linear` holds and multiplies them.
        let weights = shapes.map { k, n -> Tensor in
            let w = Tensor(uninitialized: [n, k])
            for i in 0..<w.count { w[i] = Float(i % 13) * 0.01 }
            return w
        }
        let bytes = Double(shapes.reduce(0) { $0 + $1.0 * $1.1 } * 4)
        let rows = [1, 2, 4, 8, 16, 32, 64]
        let perByte = rows.map { m -> Double in
            let x = Tensor([m, 2048]), y = Tensor([m, 2048])
            for i in 0..<x.count { x[i] = Float(i % 7) * 0.1 }
            return cpuSeconds {
                for (w, (k, n)) in zip(weights, shapes) {
                    BLAS.gemm(transA: false, transB: true, m: m, n: n, k: k, a: x.data, lda: k, b: w.data, ldb: k,
                              c: y.data, ldc: n)
                }
            } / bytes
        }

        // Attention: every (sequence, head) row over its cached positions, laid out as `KVCache` lays out a
        // slot ([heads, capacity, hd], capacity 1024, 512 positions filled): 32 MiB of keys and values read,
        // a serving batch's working set rather than one that stays in a core's caches.
        let sequences = 16, heads = 8, capacity = 1024, positions = 512, hd = 64
        let keys = Tensor(uninitialized: [sequences, heads, capacity, hd])
        let values = Tensor(uninitialized: [sequences, heads, capacity, hd])
        for i in 0..<keys.count { keys[i] = Float(i % 11) * 0.01; values[i] = Float(i % 5) * 0.1 }
        let q = Tensor([hd]), out = Tensor([hd]), scores = Tensor([positions])
        for i in 0..<hd { q[i] = Float(i % 3) * 0.1 }
        let attention = cpuSeconds {
            for run in 0..<(sequences * heads) {
                DecodeAttention.row(q: q.data, keys: keys.data + run * capacity * hd, values: values.data + run * capacity * hd,
                                    ld: hd, count: positions, headDim: hd, scale: 0.125, scores: scores.data, y: out.data)
            }
        }
        return DecodeRates(rows: rows, secondsPerWeightByte: perByte,
                           attentionBandwidth: Double(2 * sequences * heads * positions * hd * 4) / attention)
    }
}
