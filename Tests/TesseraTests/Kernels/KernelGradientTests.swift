import Foundation
import Testing
import Tessera

/// Every kernel's forward against a double-precision reference, and its
/// backward against central finite differences of that reference.
/// Sizes are deliberately not multiples of 16 (vector tails) and the
/// attention sequence spans more than one 64-row query block.
@Suite struct KernelGradientTests {
    init() { Compute.threads = 1 }

    // MARK: LayerNorm

    static func layerNormRef(_ x: [Double], _ g: [Double], _ b: [Double], n: Int, c: Int) -> [Double] {
        var y = [Double](repeating: 0, count: n * c)
        for i in 0..<n {
            let row = x[(i * c)..<((i + 1) * c)]
            let m = row.reduce(0, +) / Double(c)
            let v = row.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(c)
            let r = 1 / (v + 1e-5).squareRoot()
            for j in 0..<c { y[i * c + j] = (x[i * c + j] - m) * r * g[j] + b[j] }
        }
        return y
    }

    @Test func layerNormMatchesReferenceAndFiniteDifferences() {
        let n = 3, c = 37
        let x = TestSupport.randomFloats(n * c, seed: 1, scale: 2)
        let g = TestSupport.randomFloats(c, seed: 2).map { 1 + 0.3 * $0 }
        let b = TestSupport.randomFloats(c, seed: 3, scale: 0.2)
        let w = TestSupport.randomFloats(n * c, seed: 4)  // loss = Σ w·y
        let y = Tensor([n, c]), mean = Tensor([n]), rstd = Tensor([n])
        let xt = Tensor([n, c], x), gt = Tensor([c], g), bt = Tensor([c], b)
        LayerNormKernel.forward(y: y.data, mean: mean.data, rstd: rstd.data, x: xt.data, gamma: gt.data,
                                beta: bt.data, n: n, c: c)
        let d = { (a: [Float]) in a.map(Double.init) }
        let ref = Self.layerNormRef(d(x), d(g), d(b), n: n, c: c)
        #expect(TestSupport.relativeError(y.array, ref.map(Float.init)) < 1e-6)

        let dx = Tensor([n, c]), dg = Tensor([c]), db = Tensor([c]), dy = Tensor([n, c], w)
        LayerNormKernel.backward(dx: dx.data, dgamma: dg.data, dbeta: db.data, dy: dy.data, x: xt.data,
                                 gamma: gt.data, mean: mean.data, rstd: rstd.data, n: n, c: c)
        let loss = { (y: [Double]) in zip(y, d(w)).reduce(0) { $0 + $1.0 * $1.1 } }
        let nx = TestSupport.numericGradient(d(x)) { loss(Self.layerNormRef($0, d(g), d(b), n: n, c: c)) }
        let ng = TestSupport.numericGradient(d(g)) { loss(Self.layerNormRef(d(x), $0, d(b), n: n, c: c)) }
        let nb = TestSupport.numericGradient(d(b)) { loss(Self.layerNormRef(d(x), d(g), $0, n: n, c: c)) }
        #expect(TestSupport.relativeError(dx.array, nx.map(Float.init)) < 1e-4)
        #expect(TestSupport.relativeError(dg.array, ng.map(Float.init)) < 1e-4)
        #expect(TestSupport.relativeError(db.array, nb.map(Float.init)) < 1e-4)
    }

    // MARK: GELU

    static func geluRef(_ x: Double) -> Double {
        0.5 * x * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
    }

    @Test func geluMatchesReferenceAndFiniteDifferences() {
        let n = 53
        let x = TestSupport.randomFloats(n, seed: 5, scale: 6)
        let y = Tensor([n]), xt = Tensor([n], x)
        GELUKernel.forward(y: y.data, x: xt.data, n: n)
        #expect(TestSupport.relativeError(y.array, x.map { Float(Self.geluRef(Double($0))) }) < 1e-6)
        let dy = Tensor([n], [Float](repeating: 1, count: n)), dx = Tensor([n])
        GELUKernel.backward(dx: dx.data, dy: dy.data, x: xt.data, n: n)
        let numeric = x.map { v -> Float in
            let h = 1e-6, xv = Double(v)
            return Float((Self.geluRef(xv + h) - Self.geluRef(xv - h)) / (2 * h))
        }
        #expect(TestSupport.relativeError(dx.array, numeric) < 1e-5)
    }

    // MARK: Attention

    /// y[b,t,h·hd+e] = Σ_j drop(softmax_j(q·k/√hd))·v, causal, in double.
    /// `probability` maps each (masked) unnormalised weight e^(s_j − max s)
    /// before it multiplies V and the sum divides it (identity, or bf16
    /// rounding for the bf16 kernel, which rounds exactly these when all keys
    /// fit one key tile).
    static func attentionRef(_ qkv: [Double], b B: Int, t T: Int, heads H: Int, hd: Int,
                             mask: (Int, Int, Int, Int) -> Double,
                             probability: (Double) -> Double = { $0 }) -> [Double] {
        let dl = H * hd, ld = 3 * dl
        var y = [Double](repeating: 0, count: B * T * dl)
        for b in 0..<B {
            for h in 0..<H {
                for i in 0..<T {
                    var s = [Double](repeating: 0, count: i + 1)
                    for j in 0...i {
                        var dot = 0.0
                        for e in 0..<hd { dot += qkv[(b * T + i) * ld + h * hd + e] * qkv[(b * T + j) * ld + dl + h * hd + e] }
                        s[j] = dot / Double(hd).squareRoot()
                    }
                    let mx = s.max()!
                    let ex = s.map { Foundation.exp($0 - mx) }, sum = ex.reduce(0, +)
                    for j in 0...i {
                        let p = probability(ex[j] * mask(b, h, i, j)) / sum
                        for e in 0..<hd { y[(b * T + i) * dl + h * hd + e] += p * qkv[(b * T + j) * ld + 2 * dl + h * hd + e] }
                    }
                }
            }
        }
        return y
    }

    func checkAttention(dropout p: Float) {
        let B = 2, T = 70, H = 2, hd = 3, dl = H * hd
        let qkv = TestSupport.randomFloats(B * T * 3 * dl, seed: 6, scale: 1.5)
        let w = TestSupport.randomFloats(B * T * dl, seed: 7)
        let site: DropoutSite? = p > 0 ? DropoutSite(seed: 9, name: "h.0.attn.probs", step: 2, p: p) : nil
        let shape = AttentionKernel.Shape(batch: B, seq: T, heads: H, headDim: hd)
        let y = Tensor([B * T, dl]), lse = Tensor([B, H, T]), qt = Tensor([B * T, 3 * dl], qkv)
        AttentionKernel.forward(y: y.data, lse: lse.data, qkv: qt.data, shape: shape, dropout: site, sampleOffset: 0)
        // The reference reads the mask the kernel uses: the site applied to a row of ones.
        var maskRows: [[Float]] = []
        for b in 0..<B { for h in 0..<H { for i in 0..<T {
            var row = [Float](repeating: 1, count: T)
            if let site { site.applyRow(&row, count: i + 1, featureBase: h * T, position: i, sample: b) }
            maskRows.append(row)
        } } }
        let mask = { (b: Int, h: Int, i: Int, j: Int) in Double(maskRows[(b * H + h) * T + i][j]) }
        let ref = Self.attentionRef(qkv.map(Double.init), b: B, t: T, heads: H, hd: hd, mask: mask)
        #expect(TestSupport.relativeError(y.array, ref.map(Float.init)) < 1e-5)

        let dqkv = Tensor([B * T, 3 * dl]), dy = Tensor([B * T, dl], w)
        AttentionKernel.backward(dqkv: dqkv.data, dy: dy.data, y: y.data, lse: lse.data, qkv: qt.data, shape: shape,
                                 dropout: site, sampleOffset: 0)
        let wd = w.map(Double.init)
        let numeric = TestSupport.numericGradient(qkv.map(Double.init)) { q in
            zip(Self.attentionRef(q, b: B, t: T, heads: H, hd: hd, mask: mask), wd).reduce(0) { $0 + $1.0 * $1.1 }
        }
        let err = TestSupport.relativeError(dqkv.array, numeric.map(Float.init))
        #expect(err < 1e-4, "attention dqkv relative error \(err) (dropout \(p))")
    }

    @Test func attentionMatchesReferenceAndFiniteDifferences() { checkAttention(dropout: 0) }

    /// Under bf16 the kernel multiplies bf16-rounded Q, K, V and
    /// probabilities: it matches a double-precision reference that rounds the
    /// same values, and differs from the float32 kernel by bf16's rounding.
    @Test func attentionUnderBF16RoundsEveryProductInput() {
        let B = 2, T = 70, H = 2, hd = 8, dl = H * hd
        let qkv = TestSupport.randomFloats(B * T * 3 * dl, seed: 16, scale: 1.5)
        let shape = AttentionKernel.Shape(batch: B, seq: T, heads: H, headDim: hd)
        let qt = Tensor([B * T, 3 * dl], qkv), dy = Tensor([B * T, dl], TestSupport.randomFloats(B * T * dl, seed: 17))
        func run(_ precision: Precision) -> (y: [Float], dqkv: [Float]) {
            let y = Tensor([B * T, dl]), lse = Tensor([B, H, T]), dqkv = Tensor([B * T, 3 * dl])
            AttentionKernel.forward(y: y.data, lse: lse.data, qkv: qt.data, shape: shape, dropout: nil,
                                    sampleOffset: 0, precision: precision)
            AttentionKernel.backward(dqkv: dqkv.data, dy: dy.data, y: y.data, lse: lse.data, qkv: qt.data,
                                     shape: shape, dropout: nil, sampleOffset: 0, precision: precision)
            return (y.array, dqkv.array)
        }
        let bf16 = run(.bf16), fp32 = run(.fp32)
        let ref = Self.attentionRef(qkv.map { Double(BF16.rounded($0)) }, b: B, t: T, heads: H, hd: hd,
                                    mask: { _, _, _, _ in 1 }, probability: { Double(BF16.rounded(Float($0))) })
        #expect(TestSupport.relativeError(bf16.y, ref.map(Float.init)) < 1e-5)
        #expect(TestSupport.relativeError(fp32.y, ref.map(Float.init)) > 1e-4)
        // The backward's products round too: close to float32's, but not equal.
        let gap = TestSupport.relativeError(bf16.dqkv, fp32.dqkv)
        #expect(gap > 1e-4 && gap < 3e-2, "bf16 vs fp32 dqkv \(gap)")
    }
    @Test func attentionWithDropoutMatchesReferenceAndFiniteDifferences() { checkAttention(dropout: 0.3) }

    // MARK: Cross-entropy

    @Test func crossEntropyMatchesReferenceAndFiniteDifferences() {
        let rows = 5, v = 41
        let z = TestSupport.randomFloats(rows * v, seed: 8, scale: 4)
        let targets: [Int32] = [0, 40, 7, 19, 7]
        let ref = { (z: [Double]) -> Double in
            (0..<rows).reduce(0) { total, i in
                let row = z[(i * v)..<((i + 1) * v)], mx = row.max()!
                let lse = mx + Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - mx) })
                return total + lse - z[i * v + Int(targets[i])]
            }
        }
        let zt = Tensor([rows, v], z)
        let loss = targets.withUnsafeBufferPointer {
            CrossEntropyKernel.forwardBackward(logits: zt.data, targets: $0.baseAddress!, rows: rows, v: v,
                                               validColumns: v, gradScale: 1)
        }
        let zd = z.map(Double.init)
        #expect(abs(loss - ref(zd)) / ref(zd) < 1e-6)
        let numeric = TestSupport.numericGradient(zd, ref)
        #expect(TestSupport.relativeError(zt.array, numeric.map(Float.init)) < 1e-5)
    }

    @Test func crossEntropyIgnoresPaddedColumns() {
        let rows = 3, v = 20, valid = 17
        var z = TestSupport.randomFloats(rows * v, seed: 10)
        let unpadded = (0..<rows).flatMap { Array(z[($0 * v)..<($0 * v + valid)]) }
        for i in 0..<rows { for j in valid..<v { z[i * v + j] = 50 } }  // huge padding logits must not matter
        let targets: [Int32] = [1, 16, 3]
        let padded = Tensor([rows, v], z), plain = Tensor([rows, valid], unpadded)
        let (lossPadded, lossPlain) = targets.withUnsafeBufferPointer { t in
            (CrossEntropyKernel.forwardBackward(logits: padded.data, targets: t.baseAddress!, rows: rows, v: v,
                                                validColumns: valid, gradScale: 0.5),
             CrossEntropyKernel.forwardBackward(logits: plain.data, targets: t.baseAddress!, rows: rows, v: valid,
                                                validColumns: valid, gradScale: 0.5))
        }
        #expect(lossPadded == lossPlain)
        for i in 0..<rows {
            #expect(Array(padded.array[(i * v)..<(i * v + valid)]) == Array(plain.array[(i * valid)..<((i + 1) * valid)]))
            #expect(padded.array[(i * v + valid)..<((i + 1) * v)].allSatisfy { $0 == 0 })
        }
    }

    // MARK: Embedding, AdamW, BLAS

    @Test func embeddingBackwardScattersRowsToTheirTokensAndPositions() {
        let d = 3, positions = 2
        let tokens: [Int32] = [2, 0, 2, 1]  // two samples of two positions
        let dx = Tensor([4, d], (0..<12).map(Float.init))
        let dwte = Tensor([3, d]), dwpe = Tensor([positions, d])
        tokens.withUnsafeBufferPointer {
            EmbeddingKernel.backwardTokens(dwte: dwte.data, dx: dx.data, tokens: $0.baseAddress!, rows: 4, d: d,
                                           vocab: 0..<3)
        }
        EmbeddingKernel.backwardPositions(dwpe: dwpe.data, dx: dx.data, rows: 4, d: d,
                                          coords: RowCoordinates(sampleOffset: 0, positions: positions))
        // token 0 ← row 1; token 1 ← row 3; token 2 ← rows 0 and 2; position 0 ← rows 0, 2; position 1 ← rows 1, 3.
        let expectedWte: [Float] = [3, 4, 5, 9, 10, 11, 6, 8, 10]
        let expectedWpe: [Float] = [6, 8, 10, 12, 14, 16]
        #expect(dwte.array == expectedWte)
        #expect(dwpe.array == expectedWpe)
    }

    @Test func adamWStepMatchesClosedForm() {
        let p = Tensor([2], [1, -2]), g = Tensor([2], [0.5, -0.25]), m = Tensor([2]), v = Tensor([2])
        let s = AdamWKernel.Step(lr: 0.1, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, t: 1)
        AdamWKernel.update(p: p.data, g: g.data, m: m.data, v: v.data, n: 2, step: s)
        // First step: m̂ = g, v̂ = g², so the update is lr·sign(g) (up to ε) after decay p·(1 − lr·wd).
        #expect(abs(p[0] - (1 * 0.99 - 0.1)) < 1e-6)
        #expect(abs(p[1] - (-2 * 0.99 + 0.1)) < 1e-6)
        #expect(abs(m[0] - 0.05) < 1e-7 && abs(v[1] - 0.05 * 0.0625) < 1e-8)
    }

    /// What Tessera guarantees of a product split across its threads: the
    /// same thread count gives bitwise the same result every time, and a split
    /// product agrees with the unsplit one to float32 rounding. It does not
    /// promise bitwise equality across thread counts: a BLAS kernel's blocking
    /// (and so its summation order) depends on the shape it is handed.
    @Test func gemmSplitAcrossThreadsIsRepeatableAndAgreesWithOneThread() {
        let m = 300, n = 200, k = 150
        let a = Tensor([k, m], TestSupport.randomFloats(k * m, seed: 11))
        let b = Tensor([n, k], TestSupport.randomFloats(n * k, seed: 12))
        func product(threads: Int) -> [Float] {
            let c = Tensor([m, n])
            Compute.withThreads(threads) {
                BLAS.gemm(transA: true, transB: true, m: m, n: n, k: k, a: a.data, lda: m, b: b.data, ldb: k,
                          c: c.data, ldc: n)
            }
            return c.array
        }
        let one = product(threads: 1), two = product(threads: 2)
        #expect(product(threads: 1) == one)
        #expect(product(threads: 2) == two)
        var direct = [Float](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { for l in 0..<k { direct[i * n + j] += a[l * m + i] * b[j * k + l] } } }
        #expect(TestSupport.relativeError(one, direct) < 1e-5)
        #expect(TestSupport.relativeError(two, direct) < 1e-5)
        #expect(TestSupport.relativeError(two, one) < 1e-6)
    }
}
