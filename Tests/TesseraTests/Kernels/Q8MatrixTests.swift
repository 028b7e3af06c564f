import Foundation
import Testing
import Tessera

/// Q8_0 quantization (llama.cpp's blocks of 32 with one half scale) and the
/// products that dequantize inside: the blocks against gguf-py's reference
/// quantizer, the products against float32 products of the dequantized weights.
@Suite struct Q8MatrixTests {
    /// w [2, 64]: ((37·i mod 101) − 50) / 8 (exact in float32), w[5] = 7.25, the last block zero.
    static func fixtureWeights() -> [Float] {
        var w = (0..<128).map { Float((($0 * 37) % 101) - 50) / 8 }
        w[5] = 7.25
        for i in 96..<128 { w[i] = 0 }
        return w
    }

    /// `gguf.quants.quantize(w, Q8_0).tobytes().hex()` from gguf 0.19.0, whose
    /// Q8_0 is bit-exact with ggml-quants.c's reference: per block the half
    /// scale (little-endian) then 32 quants.
    static let ggufQ8_0 = "4f2b93e435a8f97fbe0f60d42599ea3baf0051c51667db2ca0f142b60758cb1c6de12c2a3c96f656b0106fca2984e3439efd5db71777d1318beb4ba50565bf1f7fd939932c2af353ad0d6dc72781e1419bfb5bb51575cf2f89e949a30362bd1d7cd73691f05000000000000000000000000000000000000000000000000000000000000000000000"

    @Test func blocksEqualGGUFReferenceQuantizer() throws {
        let w = Self.fixtureWeights()
        let q = w.withUnsafeBufferPointer { Q8Matrix(quantizing: $0.baseAddress!, rows: 2, cols: 64) }
        let hex = GGUFFile.q8_0(q).map { String(format: "%02x", $0) }.joined()
        #expect(hex == Self.ggufQ8_0)
        // Dequantized values sit within half a step d = amax/127 of the weights, plus what storing d as a
        // half costs: |q| ≤ 127 times d's rounding, at most d·2⁻¹¹, so 0.5d + 127·2⁻¹¹·d < 0.57d.
        let back = q.dequantized()
        for b in 0..<4 {
            let block = w[(32 * b)..<(32 * b + 32)], amax = block.map(abs).max()!
            for i in block.indices { #expect(abs(back[i] - w[i]) <= 0.57 * amax / 127 + 1e-7, "weight \(i)") }
        }
        #expect(back[96..<128].allSatisfy { $0 == 0 })
    }

    /// Rows of x through both paths (≤ 8 rows: inside the product, 4 at a
    /// time; more: tiles expanded to float32), with a row length that ends in
    /// a short block, with and without accumulation, one and two threads.
    @Test(arguments: [1, 3, 5, 8, 19])
    func productEqualsFloat32ProductOfDequantizedWeights(rows n: Int) throws {
        let out = 70, k = 200  // 6 whole blocks and one of 8
        let w = TestSupport.randomFloats(out * k, seed: 3), x = TestSupport.randomFloats(n * k, seed: 4)
        let q = w.withUnsafeBufferPointer { Q8Matrix(quantizing: $0.baseAddress!, rows: out, cols: k) }
        let dq = q.dequantized()
        var reference = [Float](repeating: 0, count: n * out)
        for i in 0..<n { for o in 0..<out {
            var s: Double = 0
            for j in 0..<k { s += Double(x[i * k + j]) * Double(dq[o * k + j]) }
            reference[i * out + o] = Float(s)
        } }
        for threads in [1, 2] {
            for accumulate in [false, true] {
                var y = [Float](repeating: accumulate ? 0.5 : .nan, count: n * out)
                Compute.withThreads(threads) {
                    x.withUnsafeBufferPointer { xp in
                        y.withUnsafeMutableBufferPointer { q.multiply(xp.baseAddress!, rows: n, into: $0.baseAddress!, accumulate: accumulate) }
                    }
                }
                let expected = accumulate ? reference.map { $0 + 0.5 } : reference
                #expect(TestSupport.relativeError(y, expected) < 1e-5, "threads \(threads), accumulate \(accumulate)")
            }
        }
        // The quantized product is not the float32 one: it differs by the quantization error.
        var exact = [Float](repeating: 0, count: n * out)
        for i in 0..<n { for o in 0..<out { exact[i * out + o] = (0..<k).reduce(0) { $0 + x[i * k + $1] * w[o * k + $1] } } }
        let error = TestSupport.relativeError(reference, exact)
        #expect(error > 1e-5 && error < 2e-2)
    }

    @Test func weightFormatNamesAndSizes() throws {
        #expect(TestSupport.message { _ = try WeightFormat.parse("int4") }
                .contains("unknown value 'int4' for --weights; valid: fp32, bf16, int8"))
        #expect(try WeightFormat.parse("int8") == .int8)
        #expect(WeightFormat.int8.bytes(weights: 64) == 68 && WeightFormat.bf16.bytes(weights: 64) == 128)
    }
}
