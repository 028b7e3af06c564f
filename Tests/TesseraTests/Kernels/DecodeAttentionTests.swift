import Foundation
import Testing
import Tessera

/// The decode step's one-row attention against the direct formula in double
/// (`BlockwiseAttentionTests.reference` with one query at the last position):
/// head widths that are not multiples of the 16-lane vectors, rows at a
/// stride wider than the head, and scores large enough that skipping the
/// maximum would overflow.
@Suite struct DecodeAttentionTests {
    @Test(arguments: [(hd: 64, keys: 1, ld: 64, scale: 1.0), (hd: 20, keys: 37, ld: 20, scale: 1.0),
                      (hd: 8, keys: 130, ld: 24, scale: 1.0), (hd: 64, keys: 300, ld: 64, scale: 40.0)])
    func oneRowEqualsTheDirectFormula(hd: Int, keys: Int, ld: Int, scale: Double) throws {
        var p = BlockwiseAttentionTests.Problem(tq: 1, tk: keys, hd: hd, qStart: keys - 1, seed: UInt64(hd + keys))
        p.q = p.q.map { $0 * Float(scale) }
        let expected = BlockwiseAttentionTests.reference(p.q.map(Double.init), p.k.map(Double.init),
                                                         p.v.map(Double.init), p, causal: true)
        // Keys and values as rows of `ld` floats, the head in the first hd of each (the rest is noise).
        var k = TestSupport.randomFloats(keys * ld, seed: 99), v = TestSupport.randomFloats(keys * ld, seed: 98)
        for j in 0..<keys {
            for e in 0..<hd { k[j * ld + e] = p.k[j * hd + e]; v[j * ld + e] = p.v[j * hd + e] }
        }
        var scores = [Float](repeating: .nan, count: keys), y = [Float](repeating: .nan, count: hd)
        DecodeAttention.row(q: p.q, keys: k, values: v, ld: ld, count: keys, headDim: hd,
                            scale: 1 / Float(hd).squareRoot(), scores: &scores, y: &y)
        let worst = zip(y, expected).map { abs(Double($0) - $1) }.max()!
        #expect(worst < 1e-5, "worst difference \(worst)")
    }
}
