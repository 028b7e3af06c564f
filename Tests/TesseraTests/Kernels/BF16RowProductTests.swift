import Foundation
import Testing
import Tessera

/// Products of a few bf16 rows (decode steps under --weights bf16): on
/// CPUs with native bf16 products `BLAS.gemm` on packed operands takes the
/// dot-product path for up to 4 rows, elsewhere the bf16-rounded float32
/// product; either way each output is the float32 sum of exact products of
/// the bf16-rounded values, checked here against that sum in Double.
@Suite struct BF16RowProductTests {
    @Test(arguments: [1, 2, 4, 5])
    func fewRowsEqualTheSumOfBF16Products(rows m: Int) throws {
        let n = 67, k = 300  // k not a multiple of the 32-wide vectors: a tail
        let x = Tensor([m, k], TestSupport.randomFloats(m * k, seed: 5))
        let w = Tensor([n, k], TestSupport.randomFloats(n * k, seed: 6))
        var reference = [Float](repeating: 0, count: m * n)
        for i in 0..<m { for o in 0..<n {
            var s: Double = 0
            for j in 0..<k { s += Double(BF16.rounded(x[i * k + j])) * Double(BF16.rounded(w[o * k + j])) }
            reference[i * n + o] = Float(s)
        } }
        let a = Precision.bf16.operand(x), b = Precision.bf16.operand(w)
        for threads in [1, 2] {
            for accumulate in [false, true] {
                var c = [Float](repeating: accumulate ? 0.25 : .nan, count: m * n)
                Compute.withThreads(threads) {
                    c.withUnsafeMutableBufferPointer {
                        BLAS.gemm(transA: false, transB: true, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k,
                                  beta: accumulate ? 1 : 0, c: $0.baseAddress!, ldc: n)
                    }
                }
                let expected = accumulate ? reference.map { $0 + 0.25 } : reference
                #expect(TestSupport.relativeError(c, expected) < 1e-5, "threads \(threads), accumulate \(accumulate)")
            }
        }
    }
}
