import Foundation
import Synchronization
import Testing
import Tessera

/// The embedding, the tied head and the cross-entropy as layer pairs, and the precision slot.
@Suite struct LayerTests {
    static let config = GPTConfig(vocab: 20, seqLen: 4, layers: 2, dModel: 8, heads: 2, dropout: 0)
    static let ctx = ForwardContext(samples: 1, positions: 4, sampleOffset: 0, step: 0, seed: 1, dropout: 0)

    /// logits = normed·Wᵀ; for the loss Σ logits∘G: dnormed = G·W and dW += Gᵀ·normed.
    @Test func theTiedHeadIsAProductAndItsTwoGradients() throws {
        Compute.threads = 1
        let model = GPT(Self.config, seed: 2), head = try #require(model.tiedHead), w = try #require(model.wte)
        let (rows, d, v) = (4, 8, 20)
        let normed = Tensor([rows, d], TestSupport.randomFloats(rows * d, seed: 3))
        let g = Tensor([rows, v], TestSupport.randomFloats(rows * v, seed: 4))
        let (logits, cache) = try head.forward(normed, Self.ctx)
        w.grad.zero()
        let dnormed = try head.backward(g, cache, Self.ctx, BackwardContext())
        func close(_ a: Float, _ b: Double) -> Bool { abs(Double(a) - b) <= 1e-5 * max(1, abs(b)) }
        for r in 0..<rows {
            for j in 0..<v {
                let want = (0..<d).reduce(0.0) { $0 + Double(normed[r * d + $1]) * Double(w.value[j * d + $1]) }
                #expect(close(logits[r * v + j], want), "logit \(r),\(j)")
            }
            for k in 0..<d {
                let want = (0..<v).reduce(0.0) { $0 + Double(g[r * v + $1]) * Double(w.value[$1 * d + k]) }
                #expect(close(dnormed[r * d + k], want), "dnormed \(r),\(k)")
            }
        }
        for j in 0..<v {
            for k in 0..<d {
                let want = (0..<rows).reduce(0.0) { $0 + Double(g[$1 * v + j]) * Double(normed[$1 * d + k]) }
                #expect(close(w.grad[j * d + k], want), "dW \(j),\(k)")
            }
        }
    }

    /// x = wte[token] + wpe[position]; backward scatters dx into both.
    @Test func theEmbeddingLooksUpAndScattersBack() throws {
        let model = GPT(Self.config, seed: 2), embedding = try #require(model.embedding)
        let tokens: [Int32] = [3, 7, 3, 19], d = 8
        let (x, cache) = try embedding.forward(tokens, Self.ctx)
        for (r, t) in tokens.enumerated() {
            for k in 0..<d { #expect(x[r * d + k] == embedding.wte.value[Int(t) * d + k] + embedding.wpe!.value[r * d + k]) }
        }
        for p in embedding.parameters { p.grad.zero() }
        let dx = Tensor([4, d], TestSupport.randomFloats(4 * d, seed: 5)), dxCopy = dx.array
        var finished: [String] = []
        try embedding.backward(dx, cache, Self.ctx, BackwardContext(gradientReady: { finished += $0.map(\.name) }))
        for k in 0..<d {
            #expect(embedding.wte.grad[3 * d + k] == dxCopy[k] + dxCopy[2 * d + k])
            #expect(embedding.wte.grad[7 * d + k] == dxCopy[d + k])
            #expect(embedding.wpe!.grad[2 * d + k] == dxCopy[2 * d + k])
        }
        #expect(finished == ["wte", "wpe"])
    }

    /// loss = Σ_i log Σ_j e^{z_ij} − z_i,t and dz = (softmax − onehot)·scale, on one rank and with the
    /// vocabulary split over tp 2 (19 ids padded to 20), against the formula in double.
    @Test func theCrossEntropyIsALossAndItsScaledGradient() throws {
        Compute.threads = 1
        let (rows, vocab, scale): (Int, Int, Float) = (4, 19, 0.25)
        let z = TestSupport.randomFloats(rows * vocab, seed: 6, scale: 3), targets: [Int32] = [0, 18, 7, 7]
        var wantLoss = 0.0, wantGrad = [Double](repeating: 0, count: rows * vocab)
        for i in 0..<rows {
            let row = (0..<vocab).map { Double(z[i * vocab + $0]) }, lse = log(row.map(exp).reduce(0, +))
            wantLoss += lse - row[Int(targets[i])]
            for j in 0..<vocab { wantGrad[i * vocab + j] = (exp(row[j] - lse) - (j == Int(targets[i]) ? 1 : 0)) * Double(scale) }
        }
        for n in [1, 2] {
            let results = Mutex<[Int: (loss: Double, grad: [Float], range: Range<Int>)]>([:])
            try ThreadWorld.run(size: n) { g in
                let tp = TensorParallel(group: g, sequenceParallel: false), part = ModelShape.paddedVocab(vocab, tp: n) / n
                let range = (part * g.rank)..<(part * (g.rank + 1))
                let layer = VocabParallelCrossEntropy(vocab: vocab, vocabRange: range, tp: tp)
                let local = Tensor([rows, part], (0..<rows).flatMap { i in range.map { $0 < vocab ? z[i * vocab + $0] : 0 } })
                let (loss, cache) = try layer.forward(.init(logits: local, targets: targets), Self.ctx)
                let dz = try layer.backward(scale, cache, Self.ctx, BackwardContext())
                results.withLock { $0[g.rank] = (loss, dz.array, range) }
            }
            for (_, r) in results.withLock({ $0 }) {
                #expect(abs(r.loss - wantLoss) <= 1e-5 * wantLoss, "tp \(n): loss \(r.loss) vs \(wantLoss)")
                for i in 0..<rows {
                    for (c, j) in r.range.enumerated() {
                        let got = r.grad[i * r.range.count + c]
                        #expect(j < vocab ? abs(Double(got) - wantGrad[i * vocab + j]) <= 1e-6 : got == 0, "tp \(n): dz \(i),\(j)")
                    }
                }
            }
        }
    }

    /// Setting the model's precision once fills every layer's slot, the head's included.
    @Test func theModelSetsEveryLayersPrecisionOnce() throws {
        let model = GPT(Self.config, seed: 2)
        model.precision = .bf16
        #expect(model.gpt2Blocks.allSatisfy { $0.precision == .bf16 && $0.attn.precision == .bf16 && $0.mlp.precision == .bf16 })
        #expect(model.tiedHead?.precision == .bf16 && model.embedding?.precision == .fp32)
        #expect(model.blocks[0].workingWeights.count == 4)
    }
}
