import Foundation
import Testing
import Tessera

/// The embedding and the tied head as layer pairs, and the precision slot.
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
            for k in 0..<d { #expect(x[r * d + k] == embedding.wte.value[Int(t) * d + k] + embedding.wpe.value[r * d + k]) }
        }
        for p in embedding.parameters { p.grad.zero() }
        let dx = Tensor([4, d], TestSupport.randomFloats(4 * d, seed: 5)), dxCopy = dx.array
        var finished: [String] = []
        try embedding.backward(dx, cache, Self.ctx, BackwardContext(gradientReady: { finished += $0.map(\.name) }))
        for k in 0..<d {
            #expect(embedding.wte.grad[3 * d + k] == dxCopy[k] + dxCopy[2 * d + k])
            #expect(embedding.wte.grad[7 * d + k] == dxCopy[d + k])
            #expect(embedding.wpe.grad[2 * d + k] == dxCopy[2 * d + k])
        }
        #expect(finished == ["wte", "wpe"])
    }

    /// Setting the model's precision once fills every layer's slot, the head's included.
    @Test func theModelSetsEveryLayersPrecisionOnce() throws {
        let model = GPT(Self.config, seed: 2)
        model.precision = .bf16
        #expect(model.blocks.allSatisfy { $0.precision == .bf16 && $0.attn.precision == .bf16 && $0.mlp.precision == .bf16 })
        #expect(model.tiedHead?.precision == .bf16 && model.embedding?.precision == .fp32)
        #expect(model.blocks[0].workingWeights.count == 4)
    }
}
