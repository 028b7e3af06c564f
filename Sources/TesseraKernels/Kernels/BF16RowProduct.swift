import CDNNL

/// Products of a few rows of packed bf16 activations by a packed bf16
/// weight matrix, y [m, n] (+)= x [m, k] · Wᵀ with W [n, k] (the forward
/// product of a linear layer in a decode step under `--weights bf16`).
/// A matrix-product call costs more than one row's product here (oneDNN's
/// primitive wants a stream and scratchpad per call, and its bf16 path is
/// built for many rows); these are dot products over each weight row read
/// once for all m rows (CDNNL/bf16_dot.h: AVX512_BF16's vdpbf16ps where the
/// build targets it), exact bf16 products summed in float32 as oneDNN's
/// are, in another order. Output features split across `Compute.threads`.
public enum BF16RowProduct {
    /// Rows of x up to which `BLAS.gemm` on packed bf16 operands takes this path.
    static let maxRows = 4

    /// c[i·ldc + o] (+)= Σ_j a[i·lda + j] · b[o·ldb + j] for i < m, o < n.
    static func run(m: Int, n: Int, k: Int, a: UnsafePointer<UInt16>, lda: Int, b: UnsafePointer<UInt16>, ldb: Int,
                    accumulate: Bool, c: UnsafeMutablePointer<Float>, ldc: Int, parallel: Bool) {
        precondition(m >= 1 && m <= maxRows, "BF16RowProduct takes 1...\(maxRows) rows, got \(m)")
        let threads = parallel && n * k >= 1 << 16 ? Compute.threads : 1
        Compute.withThreads(threads) {
            Compute.parallelRanges(n) { outputs in
                var sums = SIMD4<Float>()
                for o in outputs {
                    withUnsafeMutableBytes(of: &sums) { raw in
                        tessera_bf16_dot_rows(b + o * ldb, a, lda, Int32(m), k,
                                              raw.baseAddress!.assumingMemoryBound(to: Float.self))
                    }
                    for i in 0..<m {
                        let out = c + i * ldc + o
                        out.pointee = accumulate ? out.pointee + sums[i] : sums[i]
                    }
                }
            }
        }
    }

    /// The kernel this build compiled: "avx512_bf16" or "c".
    public static var kernel: String { tessera_bf16_dot_isa() == 1 ? "avx512_bf16" : "c" }
}
