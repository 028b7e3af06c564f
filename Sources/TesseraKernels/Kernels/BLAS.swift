import CDNNL

/// Row-major single-precision matrix products through oneDNN's `dnnl_sgemm`
/// (see `MatrixEngine` for why oneDNN).
public enum BLAS {
    /// C[m,n] = alpha · op(A) · op(B) + beta · C, all row-major.
    /// op(A) is [m,k] (A stored [k,m] when `transA`), op(B) is [k,n]
    /// (B stored [n,k] when `transB`). `lda`, `ldb`, `ldc` are row strides.
    /// Large products are split across `Compute.threads` by rows of C (or by
    /// columns when C has few rows); each part is one single-threaded product.
    /// A split product equals the unsplit one to float32 rounding, not
    /// bitwise: the kernel's blocking depends on the shape it is handed.
    /// Callers already inside a parallel region pass `parallel: false`.
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                            alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                            b: UnsafePointer<Float>, ldb: Int,
                            beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
                            parallel: Bool = true) {
        split(transA: transA, transB: transB, m: m, n: n, k: k, lda: lda, ldb: ldb, ldc: ldc,
              parallel: parallel) { m, n, aOffset, bOffset, cOffset in
            raw(transA, transB, m, n, k, alpha, a + aOffset, lda, b + bOffset, ldb, beta, c + cOffset, ldc)
        }
    }

    /// Splits the product C[m,n] = op(A)·op(B) across `Compute.threads` by
    /// rows of C (or columns when C has few rows) and calls `part(m, n,
    /// aOffset, bOffset, cOffset)` for each piece, with element offsets into
    /// A, B and C. Small products and `parallel: false` run as one piece.
    static func split(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, lda: Int, ldb: Int, ldc: Int,
                      parallel: Bool,
                      _ part: (_ m: Int, _ n: Int, _ aOffset: Int, _ bOffset: Int, _ cOffset: Int) -> Void) {
        if m == 0 || n == 0 { return }
        let threads = parallel ? Compute.threads : 1
        if threads == 1 || 2 * m * n * k < 4_000_000 {
            part(m, n, 0, 0, 0)
        } else if m >= n || m >= 64 * threads {
            Compute.parallelRanges(m) { rows in
                part(rows.count, n, transA ? rows.lowerBound : rows.lowerBound * lda, 0, rows.lowerBound * ldc)
            }
        } else {
            Compute.parallelRanges(n) { cols in
                part(m, cols.count, 0, transB ? cols.lowerBound * ldb : cols.lowerBound, cols.lowerBound)
            }
        }
    }

    private static func raw(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int,
                            _ alpha: Float, _ a: UnsafePointer<Float>, _ lda: Int,
                            _ b: UnsafePointer<Float>, _ ldb: Int, _ beta: Float,
                            _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        MatrixEngine.useOneThreadHere()
        let status = dnnl_sgemm(CChar(UInt8(ascii: transA ? "T" : "N")), CChar(UInt8(ascii: transB ? "T" : "N")),
                                Int64(m), Int64(n), Int64(k), alpha, a, Int64(lda), b, Int64(ldb), beta, c, Int64(ldc))
        guard status == dnnl_success else { fatalError("dnnl_sgemm failed (status \(status.rawValue)) on \(m)×\(n)×\(k)") }
    }
}
