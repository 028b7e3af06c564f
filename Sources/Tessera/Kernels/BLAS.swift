import CBLAS

/// Row-major single-precision matrix products through OpenBLAS.
public enum BLAS {
    /// C[m,n] = alpha · op(A) · op(B) + beta · C, all row-major.
    /// op(A) is [m,k] (A stored [k,m] when `transA`), op(B) is [k,n]
    /// (B stored [n,k] when `transB`). `lda`, `ldb`, `ldc` are row strides.
    /// Large products are split across `Compute.threads` by rows of C (or by
    /// columns when C has few rows); each thread calls single-threaded sgemm.
    /// Callers already inside a parallel region pass `parallel: false`.
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                            alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                            b: UnsafePointer<Float>, ldb: Int,
                            beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
                            parallel: Bool = true) {
        if m == 0 || n == 0 { return }
        let threads = parallel ? Compute.threads : 1
        let flops = 2 * m * n * k
        if threads == 1 || flops < 4_000_000 {
            raw(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            return
        }
        if m >= n || m >= 64 * threads {
            Compute.parallelRanges(m) { rows in
                let aOff = transA ? rows.lowerBound : rows.lowerBound * lda
                raw(transA, transB, rows.count, n, k, alpha, a + aOff, lda, b, ldb, beta,
                    c + rows.lowerBound * ldc, ldc)
            }
        } else {
            Compute.parallelRanges(n) { cols in
                let bOff = transB ? cols.lowerBound * ldb : cols.lowerBound
                raw(transA, transB, m, cols.count, k, alpha, a, lda, b + bOff, ldb, beta,
                    c + cols.lowerBound, ldc)
            }
        }
    }

    private static func raw(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int,
                            _ alpha: Float, _ a: UnsafePointer<Float>, _ lda: Int,
                            _ b: UnsafePointer<Float>, _ ldb: Int, _ beta: Float,
                            _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}
