import Foundation
import Testing
import Tessera

/// The tile-by-tile online softmax against the direct formula computed in
/// double precision: causal and not, lengths that are not multiples of the
/// tiles, and keys arriving in pieces and in any order (as ring attention
/// delivers them).
@Suite struct BlockwiseAttentionTests {
    /// One (sample, head): q [tq, hd] at positions qStart..., k, v [tk, hd] at 0..., row-major.
    struct Problem {
        var tq: Int, tk: Int, hd: Int, qStart: Int
        var q: [Float], k: [Float], v: [Float], dO: [Float]
        init(tq: Int, tk: Int, hd: Int, qStart: Int, seed: UInt64) {
            self.tq = tq; self.tk = tk; self.hd = hd; self.qStart = qStart
            q = TestSupport.randomFloats(tq * hd, seed: seed, scale: 1.5)
            k = TestSupport.randomFloats(tk * hd, seed: seed + 1, scale: 1.5)
            v = TestSupport.randomFloats(tk * hd, seed: seed + 2)
            dO = TestSupport.randomFloats(tq * hd, seed: seed + 3)
        }
    }

    /// o = softmax(q·kᵀ/√hd, causal by position) · v in double; also returns Σ o⊙dO for gradients.
    static func reference(_ q: [Double], _ k: [Double], _ v: [Double], _ p: Problem, causal: Bool) -> [Double] {
        var o = [Double](repeating: 0, count: p.tq * p.hd)
        for i in 0..<p.tq {
            let last = causal ? min(p.tk - 1, p.qStart + i) : p.tk - 1
            guard last >= 0 else { continue }
            var s = [Double](repeating: 0, count: last + 1)
            for j in 0...last {
                var dot = 0.0
                for e in 0..<p.hd { dot += q[i * p.hd + e] * k[j * p.hd + e] }
                s[j] = dot / Double(p.hd).squareRoot()
            }
            let mx = s.max()!, ex = s.map { Foundation.exp($0 - mx) }, sum = ex.reduce(0, +)
            for j in 0...last { for e in 0..<p.hd { o[i * p.hd + e] += ex[j] / sum * v[j * p.hd + e] } }
        }
        return o
    }

    /// Runs the tile functions with the keys cut at `cuts` (pieces processed
    /// in `order`): returns o and the gradients dq, dk, dv of Σ o⊙dO.
    static func blockwise(_ p: Problem, causal: Bool, cuts: [Int], order: [Int]) -> (o: [Float], dq: [Float], dk: [Float], dv: [Float]) {
        let head = BlockwiseAttention.Head(scale: 1 / Float(p.hd).squareRoot(), causal: causal, dropout: nil,
                                           featureBase: 0, sample: 0, precision: .fp32)
        let bounds = [0] + cuts + [p.tk]
        let pieces = (0..<(bounds.count - 1)).map { bounds[$0]..<bounds[$0 + 1] }
        var o = [Float](repeating: 0, count: p.tq * p.hd), m = [Float](repeating: -.infinity, count: p.tq)
        var l = [Float](repeating: 0, count: p.tq), lse = [Float](repeating: 0, count: p.tq)
        var scratch = [Float](repeating: 0, count: BlockwiseAttention.backwardScratch)
        p.q.withUnsafeBufferPointer { q in p.k.withUnsafeBufferPointer { k in p.v.withUnsafeBufferPointer { v in
            for index in order {
                let r = pieces[index]
                BlockwiseAttention.forwardTile(head, q: .init(q.baseAddress!, ld: p.hd, start: p.qStart, count: p.tq),
                                               k: .init(k.baseAddress! + r.lowerBound * p.hd, ld: p.hd,
                                                        start: r.lowerBound, count: r.count),
                                               v: v.baseAddress! + r.lowerBound * p.hd, headDim: p.hd, o: &o, ldo: p.hd,
                                               m: &m, l: &l, scratch: &scratch)
            }
        } } }
        BlockwiseAttention.finish(o: &o, ldo: p.hd, headDim: p.hd, count: p.tq, m: m, l: l, lse: &lse)
        var dq = [Float](repeating: 0, count: p.tq * p.hd), dk = [Float](repeating: 0, count: p.tk * p.hd)
        var dv = dk, dDot = [Float](repeating: 0, count: p.tq)
        BlockwiseAttention.rowDots(dO: p.dO, lddo: p.hd, o: o, ldo: p.hd, headDim: p.hd, count: p.tq, into: &dDot)
        p.q.withUnsafeBufferPointer { q in p.k.withUnsafeBufferPointer { k in p.v.withUnsafeBufferPointer { v in
            for index in order.reversed() {
                let r = pieces[index]
                dk.withUnsafeMutableBufferPointer { dk in dv.withUnsafeMutableBufferPointer { dv in
                    BlockwiseAttention.backwardTile(head, q: .init(q.baseAddress!, ld: p.hd, start: p.qStart, count: p.tq),
                                                    k: .init(k.baseAddress! + r.lowerBound * p.hd, ld: p.hd,
                                                             start: r.lowerBound, count: r.count),
                                                    v: v.baseAddress! + r.lowerBound * p.hd, headDim: p.hd,
                                                    dO: p.dO, lddo: p.hd, lse: lse, dDot: dDot, dq: &dq, lddq: p.hd,
                                                    dk: dk.baseAddress! + r.lowerBound * p.hd,
                                                    dv: dv.baseAddress! + r.lowerBound * p.hd, lddkv: p.hd,
                                                    scratch: &scratch)
                } }
            }
        } } }
        return (o, dq, dk, dv)
    }

    func check(_ p: Problem, causal: Bool, cuts: [Int], order: [Int]) {
        let got = Self.blockwise(p, causal: causal, cuts: cuts, order: order)
        let (q, k, v) = (p.q.map(Double.init), p.k.map(Double.init), p.v.map(Double.init))
        let ref = Self.reference(q, k, v, p, causal: causal)
        #expect(TestSupport.relativeError(got.o, ref.map(Float.init)) < 1e-5, "o, causal \(causal), cuts \(cuts)")
        let w = p.dO.map(Double.init)
        func loss(_ q: [Double], _ k: [Double], _ v: [Double]) -> Double {
            zip(Self.reference(q, k, v, p, causal: causal), w).reduce(0) { $0 + $1.0 * $1.1 }
        }
        let dq = TestSupport.numericGradient(q) { loss($0, k, v) }
        let dk = TestSupport.numericGradient(k) { loss(q, $0, v) }
        let dv = TestSupport.numericGradient(v) { loss(q, k, $0) }
        #expect(TestSupport.relativeError(got.dq, dq.map(Float.init)) < 1e-4, "dq, causal \(causal), cuts \(cuts)")
        #expect(TestSupport.relativeError(got.dk, dk.map(Float.init)) < 1e-4, "dk, causal \(causal), cuts \(cuts)")
        #expect(TestSupport.relativeError(got.dv, dv.map(Float.init)) < 1e-4, "dv, causal \(causal), cuts \(cuts)")
    }

    /// 150 queries and keys: two and a half query tiles, one and a fraction key tiles.
    @Test func causalWholeSequenceMatchesDirectFormula() {
        check(Problem(tq: 150, tk: 150, hd: 4, qStart: 0, seed: 31), causal: true, cuts: [], order: [0])
    }

    @Test func nonCausalMatchesDirectFormula() {
        check(Problem(tq: 70, tk: 150, hd: 4, qStart: 0, seed: 41), causal: false, cuts: [], order: [0])
    }

    /// Keys in three uneven pieces, last piece first (a ring delivers blocks in
    /// rank order, not position order), queries in the middle of the sequence:
    /// the running max/sum must combine pieces in any order.
    @Test func keysInPiecesAndAnyOrderMatchDirectFormula() {
        let p = Problem(tq: 40, tk: 150, hd: 4, qStart: 60, seed: 51)
        check(p, causal: true, cuts: [37, 100], order: [2, 0, 1])
        check(p, causal: false, cuts: [37, 100], order: [1, 2, 0])
    }

    /// Tiles wholly above the diagonal are skipped: a query block that sees no
    /// key of a piece leaves its state untouched.
    @Test func pieceWhollyInTheFutureChangesNothing() {
        let p = Problem(tq: 30, tk: 150, hd: 4, qStart: 0, seed: 61)
        let alone = Self.blockwise(Problem(tq: 30, tk: 30, hd: 4, qStart: 0, seed: 61), causal: true, cuts: [], order: [0])
        let withFuture = Self.blockwise(p, causal: true, cuts: [30], order: [1, 0])
        #expect(alone.o == withFuture.o)
        #expect(alone.dq == withFuture.dq)
        #expect(withFuture.dk[(30 * 4)...].allSatisfy { $0 == 0 })
    }
}
