import CDNNL
import Synchronization

/// bf16 × bf16 → float32 matrix products on oneDNN's matmul primitive, for
/// CPUs with native bf16 instructions (AVX512_BF16, AMX). A primitive is
/// built once per shape (the model has a handful) and cached; each run gets
/// its own stream and scratchpad, so ranks and kernel threads may run the
/// same primitive at once.
enum BF16MatrixProduct {
    /// A product's shape and strides (row-major) and whether it adds to C.
    struct Shape: Hashable {
        var transA: Bool, transB: Bool, m: Int, n: Int, k: Int, lda: Int, ldb: Int, ldc: Int, accumulate: Bool
    }

    /// A built primitive and the scratchpad bytes one run needs.
    final class Built: @unchecked Sendable {
        let primitive: dnnl_primitive_t
        let scratchpadBytes: Int
        init(_ primitive: dnnl_primitive_t, _ scratchpadBytes: Int) {
            self.primitive = primitive
            self.scratchpadBytes = scratchpadBytes
        }
    }

    /// oneDNN's CPU engine (one per process).
    nonisolated(unsafe) static let engine: dnnl_engine_t = {
        var e: dnnl_engine_t?
        let status = dnnl_engine_create(&e, dnnl_cpu, 0)
        guard status == dnnl_success, e != nil else { fatalError("oneDNN could not create its CPU engine (status \(status.rawValue))") }
        return e!
    }()

    private static let built = Mutex<[Shape: Built]>([:])

    /// Whether this CPU (under any DNNL_MAX_CPU_ISA cap) multiplies bf16
    /// natively: its ISA includes AVX512_BF16 (AMX does too) and oneDNN
    /// builds a non-reference bf16 product. (On plain AVX-512 oneDNN would
    /// emulate bf16 more slowly than float32 runs; bf16-rounded float32 is
    /// faster there.)
    static let isAvailable: Bool = {
        let bf16ISA = dnnl_cpu_isa_avx512_core_bf16.rawValue
        guard dnnl_get_effective_cpu_isa().rawValue & bf16ISA == bf16ISA else { return false }
        var bytes = 0
        guard let p = tessera_bf16_product_create(engine, 0, 1, 64, 64, 64, 64, 64, 64, 0, &bytes) else { return false }
        dnnl_primitive_destroy(p)
        return true
    }()

    /// The primitive for `shape`, built on first use.
    static func primitive(_ shape: Shape) -> Built {
        built.withLock { cache in
            if let b = cache[shape] { return b }
            var bytes = 0
            guard let p = tessera_bf16_product_create(engine, shape.transA ? 1 : 0, shape.transB ? 1 : 0,
                                                      Int64(shape.m), Int64(shape.n), Int64(shape.k),
                                                      Int64(shape.lda), Int64(shape.ldb), Int64(shape.ldc),
                                                      shape.accumulate ? 1 : 0, &bytes) else {
                preconditionFailure("oneDNN cannot build a bf16 product of \(shape) on this CPU")
            }
            let b = Built(p, bytes)
            cache[shape] = b
            return b
        }
    }

    /// C[m,n] = op(A)·op(B) (+ C when `accumulate`) on packed bf16 A and B,
    /// on the calling thread.
    static func run(_ shape: Shape, a: UnsafePointer<UInt16>, b: UnsafePointer<UInt16>, c: UnsafeMutablePointer<Float>) {
        let built = primitive(shape)
        MatrixEngine.useOneThreadHere()
        // Release builds are -Ounchecked, where a precondition's condition is not
        // even evaluated: calls with effects and library statuses are checked
        // with `guard … fatalError` instead.
        var stream: dnnl_stream_t?
        let created = dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue)
        guard created == dnnl_success else { fatalError("oneDNN could not create a stream (status \(created.rawValue))") }
        defer { dnnl_stream_destroy(stream) }
        let scratchpad = Tensor(uninitialized: [built.scratchpadBytes / 4 + 16])
        let status = withExtendedLifetime(scratchpad) {
            tessera_bf16_product_run(built.primitive, engine, stream, a, b, c, scratchpad.data)
        }
        guard status == dnnl_success else { fatalError("oneDNN bf16 product \(shape) failed (status \(status.rawValue))") }
    }
}

extension BLAS {
    /// C[m,n] = op(A)·op(B) + beta·C on product operands of one precision
    /// (`Precision.operand`), beta 0 or 1; row-major as `gemm` on floats,
    /// split across `Compute.threads` the same way. float32 operands (fp32,
    /// or bf16-rounded values where the CPU has no bf16 product) run through
    /// sgemm; packed bf16 operands through oneDNN's bf16 product.
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                            a: ProductOperand, lda: Int, b: ProductOperand, ldb: Int,
                            beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, parallel: Bool = true) {
        precondition(a.precision == b.precision && a.isPackedBF16 == b.isPackedBF16,
                     "a product of a \(a.precision) and a \(b.precision) operand")
        guard a.isPackedBF16 else {
            gemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a.floats, lda: lda, b: b.floats, ldb: ldb,
                 beta: beta, c: c, ldc: ldc, parallel: parallel)
            return
        }
        precondition(beta == 0 || beta == 1, "bf16 products take beta 0 or 1, got \(beta)")
        let pa = a.packed, pb = b.packed
        if !transA && transB && m <= BF16RowProduct.maxRows {  // a decode step's rows: dot products, no primitive
            BF16RowProduct.run(m: m, n: n, k: k, a: pa, lda: lda, b: pb, ldb: ldb, accumulate: beta == 1, c: c, ldc: ldc,
                               parallel: parallel)
            return
        }
        split(transA: transA, transB: transB, m: m, n: n, k: k, lda: lda, ldb: ldb, ldc: ldc,
              parallel: parallel) { m, n, aOffset, bOffset, cOffset in
            let shape = BF16MatrixProduct.Shape(transA: transA, transB: transB, m: m, n: n, k: k, lda: lda, ldb: ldb,
                                                ldc: ldc, accumulate: beta == 1)
            BF16MatrixProduct.run(shape, a: pa + aOffset, b: pb + bOffset, c: c + cOffset)
        }
    }
}
