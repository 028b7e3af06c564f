import Foundation
import Testing
import Tessera

/// bf16 rounding against hand-worked bit patterns, and bf16 products against
/// a double-precision product of the bf16-rounded inputs.
@Suite struct BF16Tests {
    init() { Compute.threads = 1 }

    @Test func roundsToNearestWithTiesToEven() {
        // 1 + 2⁻⁸ lies halfway between bf16 1 and 1 + 2⁻⁷: ties go to the even pattern (1).
        #expect(BF16.bits(Float(bitPattern: 0x3F80_8000)) == 0x3F80)
        // 1 + 3·2⁻⁸ lies halfway between 1 + 2⁻⁷ (odd) and 1 + 2⁻⁶ (even): up.
        #expect(BF16.bits(Float(bitPattern: 0x3F81_8000)) == 0x3F82)
        // Just above and below a halfway point go to the nearer neighbour.
        #expect(BF16.bits(Float(bitPattern: 0x3F80_8001)) == 0x3F81)
        #expect(BF16.bits(Float(bitPattern: 0x3F80_7FFF)) == 0x3F80)
        #expect(BF16.rounded(-3.0) == -3.0)
        #expect(BF16.rounded(0.1) == Float(bitPattern: 0x3DCD_0000))  // 0x3DCCCCCD rounds up
        #expect(BF16.rounded(.greatestFiniteMagnitude) == .infinity)
        #expect(BF16.rounded(.nan).isNaN)
        #expect(BF16.rounded(-.infinity) == -.infinity)
        #expect(BF16.rounded(Float(bitPattern: 0x7F80_0001)).isNaN)  // a signalling NaN stays NaN, not infinity
        #expect(BF16.rounded(Float(bitPattern: 0x7FFF_FFFF)).isNaN)  // the carry must not reach the sign
    }

    @Test func vectorRoundingAndPackingAgreeWithTheScalarFormula() {
        let n = 16 * 37 + 5  // a vector tail
        let x = TestSupport.randomFloats(n, seed: 21, scale: 50)
        let src = Tensor([n], x), rounded = Tensor([n])
        BF16.round(src.data, into: rounded.data, count: n)
        var packed = [UInt16](repeating: 0, count: n), unpacked = [Float](repeating: 0, count: n)
        packed.withUnsafeMutableBufferPointer { BF16.pack(src.data, into: $0.baseAddress!, count: n) }
        packed.withUnsafeBufferPointer { p in
            unpacked.withUnsafeMutableBufferPointer { BF16.unpack(p.baseAddress!, into: $0.baseAddress!, count: n) }
        }
        for i in 0..<n {
            #expect(rounded[i] == BF16.rounded(x[i]))
            #expect(unpacked[i] == rounded[i])
            // Within half a bf16 ulp (2⁻⁸ relative).
            #expect(abs(rounded[i] - x[i]) <= abs(x[i]) * 0x1p-8)
        }
    }

    /// Every orientation the model uses, C = op(A)·op(B) and C += op(A)·op(B),
    /// at one and two threads: the bf16 product equals the exact product of
    /// the rounded inputs to float32 summation error.
    @Test(arguments: [(false, true), (false, false), (true, false)])
    func bf16ProductsAreExactProductsOfRoundedInputs(_ transA: Bool, _ transB: Bool) {
        let m = 130, n = 96, k = 200
        let a = Tensor(transA ? [k, m] : [m, k], TestSupport.randomFloats(m * k, seed: 22))
        let b = Tensor(transB ? [n, k] : [k, n], TestSupport.randomFloats(k * n, seed: 23))
        let c0 = TestSupport.randomFloats(m * n, seed: 24)
        let ra = a.array.map(BF16.rounded), rb = b.array.map(BF16.rounded)
        var exact = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { for l in 0..<k {
            let av = transA ? ra[l * m + i] : ra[i * k + l], bv = transB ? rb[j * k + l] : rb[l * n + j]
            exact[i * n + j] += Double(av) * Double(bv)
        } } }
        for threads in [1, 2] {
            for accumulate in [false, true] {
                let c = Tensor([m, n], c0)
                Compute.withThreads(threads) {
                    BLAS.gemm(transA: transA, transB: transB, m: m, n: n, k: k, a: Precision.bf16.operand(a),
                              lda: transA ? m : k, b: Precision.bf16.operand(b), ldb: transB ? k : n,
                              beta: accumulate ? 1 : 0, c: c.data, ldc: n)
                }
                let expected = (0..<(m * n)).map { Float(exact[$0] + (accumulate ? Double(c0[$0]) : 0)) }
                #expect(TestSupport.relativeError(c.array, expected) < 1e-6,
                        "threads \(threads), accumulate \(accumulate), engine \(MatrixEngine.summary)")
            }
        }
        // And it differs from the float32 product by bf16's rounding, so the test would see a missing rounding.
        let f32 = Tensor([m, n])
        BLAS.gemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a.data, lda: transA ? m : k,
                  b: b.data, ldb: transB ? k : n, c: f32.data, ldc: n)
        #expect(TestSupport.relativeError(f32.array, exact.map(Float.init)) > 1e-4)
    }

    @Test func anFP32OperandIsTheTensorItself() {
        let x = Tensor([3, 5], TestSupport.randomFloats(15, seed: 25))
        let o = Precision.fp32.operand(x)
        #expect(o.precision == .fp32 && !o.isPackedBF16 && o.count == 15)
        let y = Tensor([3, 5]), w = Tensor([5, 5], (0..<25).map { $0 % 6 == 0 ? 1 : 0 })  // identity
        BLAS.gemm(transA: false, transB: false, m: 3, n: 5, k: 5, a: o, lda: 5, b: Precision.fp32.operand(w), ldb: 5,
                  c: y.data, ldc: 5)
        #expect(y.array == x.array)
    }
}
