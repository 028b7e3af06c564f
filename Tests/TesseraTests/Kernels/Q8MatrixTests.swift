import Foundation
import Testing
import Tessera

/// Q8_0 quantization (llama.cpp's blocks of 32 with one half scale) of
/// weights and activations, and the products: the blocks against gguf-py's
/// reference quantizer, the int8 × int8 product against its exact block sums,
/// the tiled product against float32 products of the dequantized weights.
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

    /// Activations quantize as llama.cpp's quantize_row_q8_0 does: the
    /// fixture's quants equal gguf-py's bytes, and each float32 scale rounds
    /// to the half gguf-py stores (Q8Activations keeps d in float32).
    @Test func activationsQuantizeAsGGUFReferenceQuantizer() throws {
        let w = Self.fixtureWeights()
        let a = w.withUnsafeBufferPointer { Q8Activations(quantizing: $0.baseAddress!, rows: 2, cols: 64) }
        let bytes = stride(from: 0, to: Self.ggufQ8_0.count, by: 2).map {
            UInt8(Self.ggufQ8_0[Self.ggufQ8_0.index(Self.ggufQ8_0.startIndex, offsetBy: $0)...].prefix(2), radix: 16)!
        }
        for r in 0..<2 {
            let (quants, scales) = a.row(r)
            for b in 0..<2 {
                let record = Array(bytes[(34 * (2 * r + b))..<(34 * (2 * r + b) + 34)])
                #expect(Float16(scales[b]).bitPattern == UInt16(record[0]) | UInt16(record[1]) << 8, "row \(r) block \(b)")
                #expect(quants[(32 * b)..<(32 * b + 32)].map { UInt8(bitPattern: $0) } == Array(record[2...]),
                        "row \(r) block \(b)")
            }
        }
    }

    /// Rows of x through both paths, with a row length that ends in a short
    /// block, with and without accumulation, one and two threads. Up to
    /// `Q8Matrix.int8ProductRows` rows: x quantized too, against the exact
    /// Σ_b d_w·d_x·Σ q_w·q_x (computed here in Double from each side's blocks);
    /// more: tiles expanded to float32, against the float32 product of the
    /// dequantized weights.
    @Test(arguments: [1, 3, 5, 8, 19, 37])
    func productEqualsItsReference(rows n: Int) throws {
        let out = 70, k = 200  // 6 whole blocks and one of 8
        let w = TestSupport.randomFloats(out * k, seed: 3), x = TestSupport.randomFloats(n * k, seed: 4)
        let q = w.withUnsafeBufferPointer { Q8Matrix(quantizing: $0.baseAddress!, rows: out, cols: k) }
        let quantizedX = n <= Q8Matrix.int8ProductRows
        var reference = [Float](repeating: 0, count: n * out)
        if quantizedX {
            let a = x.withUnsafeBufferPointer { Q8Activations(quantizing: $0.baseAddress!, rows: n, cols: k) }
            for i in 0..<n {
                let (qx, sx) = a.row(i)
                for o in 0..<out {
                    var s: Double = 0
                    for b in 0..<q.blocksPerRow {
                        q.withBlock(row: o, block: b) { half, qw in
                            let dot = (0..<32).reduce(0) { $0 + Int(qw[$1]) * Int(qx[32 * b + $1]) }
                            s += Double(Float(Float16(bitPattern: half))) * Double(sx[b]) * Double(dot)
                        }
                    }
                    reference[i * out + o] = Float(s)
                }
            }
        } else {
            let dq = q.dequantized()
            for i in 0..<n { for o in 0..<out {
                var s: Double = 0
                for j in 0..<k { s += Double(x[i * k + j]) * Double(dq[o * k + j]) }
                reference[i * out + o] = Float(s)
            } }
        }
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
        // The quantized product is not the float32 one: it differs by the quantization error
        // (of W, and of x too where x is quantized).
        var exact = [Float](repeating: 0, count: n * out)
        for i in 0..<n { for o in 0..<out { exact[i * out + o] = (0..<k).reduce(0) { $0 + x[i * k + $1] * w[o * k + $1] } } }
        let error = TestSupport.relativeError(reference, exact)
        #expect(error > 1e-5 && error < 2e-2, "\(error)")
    }

    @Test func weightFormatNamesAndSizes() throws {
        #expect(TestSupport.message { _ = try WeightFormat.parse("int4") }
                .contains("unknown value 'int4' for --weights; valid: fp32, bf16, int8"))
        #expect(try WeightFormat.parse("int8") == .int8)
        #expect(WeightFormat.int8.bytes(weights: 64) == 68 && WeightFormat.bf16.bytes(weights: 64) == 128)
    }
}
