import Foundation
import Testing
import Tessera

/// A feed-forward layer that delegates to a dense MLP and counts the calls
/// the block makes through the protocol, with what it passed.
final class CountingFeedForward: FeedForward, @unchecked Sendable {
    let dense: MLP
    var forwards = 0, backwards = 0, reportedReady = false
    init(_ dense: MLP) { self.dense = dense }
    var parameters: [Parameter] { dense.parameters }
    var linears: [Linear] { dense.linears }
    func forward(_ x: Tensor, _ ctx: ForwardContext) throws -> (Tensor, any LayerCache) {
        forwards += 1
        return try dense.forward(x, ctx)
    }
    func backward(_ dy: Tensor, _ cache: any LayerCache, _ ctx: ForwardContext,
                  _ backward: BackwardContext) throws -> Tensor {
        backwards += 1
        reportedReady = backward.gradientReady != nil
        return try dense.backward(dy, cache, ctx, backward)
    }
}

@Suite struct FeedForwardTests {
    @Test func aBlockRunsItsFeedForwardThroughTheProtocol() throws {
        Compute.threads = 1
        let config = GPTConfig(vocab: 256, seqLen: 8, layers: 2, dModel: 16, heads: 2, dropout: 0.1)
        let ctx = ForwardContext(samples: 2, positions: 8, sampleOffset: 0, step: 3, seed: 1, dropout: 0.1)
        let x = Tensor([16, 16], TestSupport.randomFloats(256, seed: 5)), dy = Tensor([16, 16], TestSupport.randomFloats(256, seed: 6))
        func run(_ block: Block, ready: Bool) throws -> (y: [Float], dx: [Float], grads: [[Float]]) {
            for p in block.parameters { p.initialize(seed: 9) }
            let (y, cache) = try block.forward(x, ctx)
            let backward = BackwardContext(gradientReady: ready ? { _ in } : nil)
            let dx = try block.backward(dy, cache, ctx, backward)
            return (y.array, dx.array, block.parameters.map(\.grad.array))
        }
        let dense = try run(Block(index: 0, config: config, tp: .single()), ready: false)
        let counting = CountingFeedForward(MLP(name: "h.0.mlp", dModel: 16, layers: 2, tp: .single()))
        let plugged = try run(Block(index: 0, config: config, tp: .single(), feedForward: counting), ready: true)
        #expect(counting.forwards == 1 && counting.backwards == 1 && counting.reportedReady)
        #expect(plugged.y == dense.y && plugged.dx == dense.dx && plugged.grads == dense.grads)
    }
}
