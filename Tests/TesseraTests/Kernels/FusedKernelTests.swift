import Testing
import Tessera

/// Fused passes equal the passes they replace bit for bit (same float32
/// operations in the same order), at widths with and without a 16-lane tail
/// and on one and two threads.
@Suite struct FusedKernelTests {
    @Test(arguments: [(7, 64), (5, 40), (33, 128)])
    func residualAddAndLayerNormEqualTheTwoPasses(rows: Int, c: Int) {
        let x0 = TestSupport.randomFloats(rows * c, seed: 1, scale: 3), res = TestSupport.randomFloats(rows * c, seed: 2)
        let gamma = TestSupport.randomFloats(c, seed: 3), beta = TestSupport.randomFloats(c, seed: 4)
        for threads in [1, 2] {
            Compute.withThreads(threads) {
                var a = x0, ya = [Float](repeating: 0, count: rows * c), ma = [Float](repeating: 0, count: rows), ra = ma
                a.withUnsafeMutableBufferPointer { a in
                    Elementwise.add(a.baseAddress!, a.baseAddress!, res, n: rows * c)
                    LayerNormKernel.forward(y: &ya, mean: &ma, rstd: &ra, x: a.baseAddress!, gamma: gamma, beta: beta, n: rows, c: c)
                }
                var b = x0, yb = [Float](repeating: 0, count: rows * c), mb = [Float](repeating: 0, count: rows), rb = mb
                LayerNormKernel.forward(addingResidual: res, to: &b, y: &yb, mean: &mb, rstd: &rb, gamma: gamma, beta: beta,
                                        n: rows, c: c)
                #expect(a == b && ya == yb && ma == mb && ra == rb, "threads \(threads)")
                #expect(b != x0 && ya.contains { $0 != 0 })
            }
        }
    }

    @Test(arguments: [(6, 64), (5, 72), (17, 2048)])
    func geluBackwardAndBiasGradientEqualTheTwoPasses(rows: Int, c: Int) {
        let x = TestSupport.randomFloats(rows * c, seed: 5, scale: 4), dy = TestSupport.randomFloats(rows * c, seed: 6)
        let db0 = TestSupport.randomFloats(c, seed: 7)
        for threads in [1, 2] {
            Compute.withThreads(threads) {
                var dxa = dy, dba = db0
                dxa.withUnsafeMutableBufferPointer { d in
                    GELUKernel.backward(dx: d.baseAddress!, dy: d.baseAddress!, x: x, n: rows * c)
                    Elementwise.sumRows(into: &dba, d.baseAddress!, rows: rows, c: c)
                }
                var dxb = dy, dbb = db0
                dxb.withUnsafeMutableBufferPointer { d in
                    GELUKernel.backward(dx: d.baseAddress!, dy: d.baseAddress!, x: x, rows: rows, c: c, addingColumnSumsTo: &dbb)
                }
                #expect(dxa == dxb && dba == dbb, "threads \(threads)")
                #expect(dba != db0)
            }
        }
    }
}
