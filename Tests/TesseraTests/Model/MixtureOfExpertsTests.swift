import Foundation
import Testing
import Tessera

/// The mixture-of-experts layer on one rank: routing, capacity, the
/// permutation, and its backward against finite differences.
@Suite struct MixtureOfExpertsTests {
    static func config(experts: Int = 4, topK: Int = 2, capacity: Float = 0, aux: Float = 0.01, z: Float = 0.001) -> GPTConfig {
        var c = GPTConfig(vocab: 256, seqLen: 8, layers: 2, dModel: 8, heads: 2, dropout: 0)
        c.experts = experts; c.topK = topK; c.expertHidden = 12
        c.capacityFactor = capacity; c.auxLossCoeff = aux; c.zLossCoeff = z
        return c
    }

    static func layer(_ c: GPTConfig, seed: UInt64 = 3) -> MixtureOfExperts {
        let moe = MixtureOfExperts(layer: 1, config: c, tp: .single(), ep: .single())
        for p in moe.parameters { p.initialize(seed: seed) }
        // A model this small draws near-uniform router probabilities and tiny expert outputs; widen both so
        // top-k, capacity and the gates' gradient matter.
        Elementwise.scale(moe.router.weight.value.data, by: 60, n: moe.router.weight.value.count)
        for p in moe.experts.flatMap(\.parameters) { Elementwise.scale(p.value.data, by: 30, n: p.value.count) }
        return moe
    }

    static let ctx = ForwardContext(samples: 2, positions: 8, sampleOffset: 0, step: 0, seed: 1, dropout: 0)

    @Test func topKBreaksTiesTowardTheLowestExpertAndRenormalisesGates() {
        let logits: [Float] = [1, 3, 3, 0, 3,   0, 0, 0, 0, 0]
        let r = logits.withUnsafeBufferPointer { Routing(logits: $0.baseAddress!, rows: 2, experts: 5, topK: 2) }
        #expect(r.choice == [1, 2, 0, 1])
        #expect(abs(r.gate[0] - 0.5) < 1e-6 && abs(r.gate[1] - 0.5) < 1e-6)
        #expect(abs(r.probs[1] - exp(3) / (exp(1) + 3 * exp(3) + 1)) < 1e-6)
    }

    @Test func capacityDropsTheLeastProbableChoicesOfEachSample() {
        // One sample of 4 rows, 2 experts, top-1: capacity ceil(1·4·1/2) = 2; rows 0, 1, 3 pick expert 0.
        let logits: [Float] = [2, 0,   3, 0,   0, 1,   1, 0]
        var r = logits.withUnsafeBufferPointer { Routing(logits: $0.baseAddress!, rows: 4, experts: 2, topK: 1) }
        ExpertCapacity.apply(&r, samples: 1, positions: 4, factor: 1)
        #expect(r.kept == [true, true, true, false])  // row 3 has expert 0's lowest probability
        #expect(r.routedPerExpert == [3, 1] && r.dropped == 1)
        #expect(ExpertCapacity.perSample(factor: 1.25, positions: 32, topK: 2, experts: 8) == 10)
        #expect(ExpertCapacity.perSample(factor: 0, positions: 32, topK: 2, experts: 8) == nil)
    }

    @Test func permuteThenUnpermuteWithGatesOneOverKIsTheIdentity() {
        let rows = 16, d = 8, K = 2
        let logits = TestSupport.randomFloats(rows * 4, seed: 2, scale: 3)
        let r = logits.withUnsafeBufferPointer { Routing(logits: $0.baseAddress!, rows: rows, experts: 4, topK: K) }
        let order = ExpertOrder(r)
        #expect(order.counts.reduce(0, +) == rows * K)
        let x = Tensor([rows, d], TestSupport.randomFloats(rows * d, seed: 3))
        let half = [Float](repeating: 1 / Float(K), count: rows * K)
        #expect(order.unpermute(order.permute(x), rows: rows, weight: half).array == x.array)
        // Backward of the pair: the gradient is permuted, weighted by 1/K, and summed back: dy itself.
        let dy = Tensor([rows, d], TestSupport.randomFloats(rows * d, seed: 4))
        let dPermuted = order.permute(dy)
        Elementwise.scale(dPermuted.data, by: 1 / Float(K), n: dPermuted.count)
        #expect(order.unpermute(dPermuted, rows: rows, weight: nil).array == dy.array)
    }

    @Test func aLargeCapacityEqualsDropless() throws {
        let x = Tensor([16, 8], TestSupport.randomFloats(128, seed: 5))
        let dropless = try Self.layer(Self.config(capacity: 0)).forward(x, Self.ctx).0.array
        let roomy = try Self.layer(Self.config(capacity: 100)).forward(x, Self.ctx).0.array
        let tight = Self.layer(Self.config(capacity: 0.5))
        let dropping = try tight.forward(x, Self.ctx).0.array
        #expect(roomy == dropless)
        #expect(dropping != dropless)  // capacity 0.5 does drop here
        #expect(try tight.router.forward(x, samples: 2, positions: 8, capacityFactor: 0.5).dropped > 0)
    }

    /// The layer's objective for a gradient check: Σ w·y plus, at loss
    /// scale s, the auxiliary losses as the backward counts them
    /// (s·(T·Σ_samples lb + Σ_tokens z)).
    static func objective(_ moe: MixtureOfExperts, _ c: GPTConfig, _ x: Tensor, _ w: [Float], scale: Float) throws -> Double {
        var ctx = Self.ctx
        ctx.lossScale = scale
        let y = try moe.forward(x, ctx).0.array
        let r = try moe.router.forward(x, samples: 2, positions: 8, capacityFactor: c.capacityFactor)
        let aux = RouterLosses.loadBalancing(r, samples: 2, positions: 8, coefficient: c.auxLossCoeff)
        return zip(y, w).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            + Double(scale) * (8 * aux + RouterLosses.zLoss(r, coefficient: c.zLossCoeff))
    }

    @Test(arguments: [Float(0), 1])
    func backwardMatchesFiniteDifferencesThroughGatesAndAuxiliaryLosses(capacity: Float) throws {
        Compute.threads = 1
        let c = Self.config(capacity: capacity, aux: 0.5, z: 0.05), scale: Float = 0.7
        let moe = Self.layer(c)
        let x = Tensor([16, 8], TestSupport.randomFloats(128, seed: 7))
        let w = TestSupport.randomFloats(128, seed: 8)
        var ctx = Self.ctx
        ctx.lossScale = scale
        let (_, cache) = try moe.forward(x, ctx)
        let dx = try moe.backward(Tensor([16, 8], w), cache, ctx, BackwardContext()).array
        // Central differences in float32 with h = 1e-3, at inputs, the router and one expert's weights.
        let h: Float = 1e-3
        func numeric(_ buffer: UnsafeMutablePointer<Float>, _ i: Int) throws -> Double {
            let keep = buffer[i]
            buffer[i] = keep + h; let up = try Self.objective(moe, c, x, w, scale: scale)
            buffer[i] = keep - h; let down = try Self.objective(moe, c, x, w, scale: scale)
            buffer[i] = keep
            return (up - down) / Double(2 * h)
        }
        var checked: [(analytic: Float, numeric: Double)] = []
        for i in stride(from: 0, to: 128, by: 5) { checked.append((dx[i], try numeric(x.data, i))) }
        let router = moe.router.weight
        for i in 0..<router.value.count { checked.append((router.grad.data[i], try numeric(router.value.data, i))) }
        let fc = moe.experts[1].fc.weight
        for i in stride(from: 0, to: fc.value.count, by: 7) { checked.append((fc.grad.data[i], try numeric(fc.value.data, i))) }
        let scaleOfGradients = checked.map { abs(Double($0.analytic)) }.max()!
        for (k, (a, n)) in checked.enumerated() {
            #expect(abs(Double(a) - n) <= 2e-3 * scaleOfGradients + 1e-4, "entry \(k): analytic \(a), numeric \(n)")
        }
        // The auxiliary losses' share of the router gradient is not negligible in this check.
        let plain = Self.layer(Self.config(capacity: capacity, aux: 0, z: 0))
        let (_, plainCache) = try plain.forward(x, ctx)
        _ = try plain.backward(Tensor([16, 8], w), plainCache, ctx, BackwardContext())
        #expect(Equivalence.relativeDifference(plain.router.weight.grad.array, router.grad.array) > 1e-2)
    }
}

extension MixtureOfExpertsTests {
    /// bf16 products: the experts' gradients stay finite and close to float32's.
    @Test func bf16ExpertsMatchFloat32() throws {
        Compute.threads = 1
        let x = Tensor([16, 8], TestSupport.randomFloats(128, seed: 7)), w = TestSupport.randomFloats(128, seed: 8)
        var ctx = Self.ctx
        ctx.lossScale = 0.5
        func run(_ precision: Precision) throws -> (y: [Float], dx: [Float], grads: [[Float]]) {
            let moe = Self.layer(Self.config(capacity: 1))
            moe.precision = precision
            let (y, cache) = try moe.forward(x, ctx)
            let dx = try moe.backward(Tensor([16, 8], w), cache, ctx, BackwardContext())
            return (y.array, dx.array, moe.parameters.map(\.grad.array))
        }
        let (a, b) = (try run(.fp32), try run(.bf16))
        #expect(Equivalence.relativeDifference(b.y, a.y) < 3e-2)
        #expect(Equivalence.relativeDifference(b.dx, a.dx) < 3e-2)
        for (k, (ga, gb)) in zip(a.grads, b.grads).enumerated() {
            #expect(gb.allSatisfy(\.isFinite) && Equivalence.relativeDifference(gb, ga) < 5e-2, "parameter \(k)")
        }
    }
}
