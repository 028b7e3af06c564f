import Foundation
import Testing
import Tessera

/// AdamW with gradient clipping's scale in the same pass: every value,
/// moment and gradient bit for bit what the separate scaling pass followed
/// by the update leaves, with a 16-lane tail, on one and two threads.
@Suite struct FusedAdamWTests {
    @Test(arguments: [1, 2])
    func scalingInsideTheUpdateEqualsAScalingPassThenTheUpdate(threads: Int) throws {
        let n = 16 * 9 + 7, c: Float = 0.3712
        let s = AdamWKernel.Step(lr: 3e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, t: 4)
        func tensors() -> [Tensor] {
            [Tensor([n], TestSupport.randomFloats(n, seed: 21)), Tensor([n], TestSupport.randomFloats(n, seed: 22, scale: 3)),
             Tensor([n], TestSupport.randomFloats(n, seed: 23, scale: 0.1)),
             Tensor([n], TestSupport.randomFloats(n, seed: 24, scale: 0.01).map { $0 * $0 })]
        }
        let separate = tensors(), fused = tensors()
        Compute.withThreads(threads) {
            Elementwise.scale(separate[1].data, by: c, n: n)
            AdamWKernel.update(p: separate[0].data, g: separate[1].data, m: separate[2].data, v: separate[3].data, n: n, step: s)
            AdamWKernel.update(p: fused[0].data, scaling: fused[1].data, by: c, m: fused[2].data, v: fused[3].data, n: n, step: s)
        }
        for (name, (a, b)) in zip(["values", "gradients", "m", "v"], zip(separate, fused)) {
            #expect((0..<n).allSatisfy { a[$0].bitPattern == b[$0].bitPattern }, "\(name)")
        }
        // The scale did something: the values moved differently from an unscaled update.
        let unscaled = tensors()
        AdamWKernel.update(p: unscaled[0].data, g: unscaled[1].data, m: unscaled[2].data, v: unscaled[3].data, n: n, step: s)
        #expect((0..<n).contains { unscaled[0][$0] != fused[0][$0] })
    }

    @Test func clippingFactor() throws {
        #expect(GradientClipping.factor(norm: 2, maxNorm: 1) == Float(1 / (2 + 1e-6)))
        #expect(GradientClipping.factor(norm: 0.5, maxNorm: 1) == 1)
        #expect(GradientClipping.factor(norm: 10, maxNorm: 0) == 1)
    }
}
