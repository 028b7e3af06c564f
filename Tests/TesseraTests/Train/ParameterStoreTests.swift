import Foundation
import Synchronization
import Testing
import Tessera

@Suite struct ParameterStoreTests {
    /// Parameters of awkward sizes with known values.
    static func parameters() -> [Parameter] {
        let shapes = [[5], [3, 7], [2, 2], [17]]
        return shapes.enumerated().map { i, shape in
            let p = Parameter(name: "p\(i)", shape: shape, rule: .zeros)
            p.value.load(TestSupport.randomFloats(p.value.count, seed: UInt64(i)))
            return p
        }
    }

    @Test func valuesAndGradientsAreAlignedViewsOfOneBufferPerBucket() throws {
        let params = Self.parameters(), before = params.map(\.value.array)
        let store = ParameterStore(parameters: params, bucketBytes: 1 << 20, shards: 3)
        #expect(store.buckets.count == 1)
        let b = store.buckets[0]
        #expect(b.parameters.map(\.name) == ["p3", "p2", "p1", "p0"])  // reverse order: backward's order
        #expect(b.ranges.map(\.lowerBound) == [0, 32, 48, 80])  // each on a 16-element (64-byte) boundary
        #expect(b.count == 96)  // 85 rounded up to a multiple of 16·3
        for (k, p) in b.parameters.enumerated() {
            #expect(p.value.data == b.values.floats + b.ranges[k].lowerBound)
            #expect(p.grad.data == b.grads.floats + b.ranges[k].lowerBound)
        }
        #expect(params.map(\.value.array) == before)  // the store kept every value
        for p in params { for i in 0..<p.grad.count { p.grad[i] = 1 } }
        let written = (0..<b.count).filter { b.grads.floats[$0] != 0 }.count
        #expect(written == 47)  // 5 + 21 + 4 + 17: padding untouched
        store.zeroGradients()
        #expect((0..<b.count).allSatisfy { b.grads.floats[$0] == 0 })
    }

    @Test func shardsAreEqualAlignedAndTileTheBucket() {
        for shards in 1...5 {
            let store = ParameterStore(parameters: Self.parameters(), bucketBytes: 1 << 20, shards: shards)
            let b = store.buckets[0], parts = (0..<shards).map(b.shard)
            #expect(parts.first!.lowerBound == 0 && parts.last!.upperBound == b.count)
            #expect(zip(parts, parts.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
            #expect(Set(parts.map(\.count)).count == 1)
            #expect(parts.allSatisfy { $0.lowerBound % ParameterBucket.alignment == 0 })
        }
    }

    @Test func bucketsGroupParametersThatSyncAlikeUpToTheCap() throws {
        let world = ThreadWorld(size: 2)
        let tp = TensorParallel(group: world.worldGroup(rank: 1), sequenceParallel: true)
        let a = Parameter(name: "a", shape: [40], rule: .zeros, placement: .sharded(dim: 0, over: tp))
        let b = Parameter(name: "b", shape: [40], rule: .zeros, placement: .replicated(over: tp))
        let c = Parameter(name: "c", shape: [40], rule: .zeros, placement: .sharded(dim: 0, over: tp))
        #expect(b.placement.partialSum == [.tp, .dp] && !b.placement.isPrimary && a.placement.isPrimary)
        let store = ParameterStore(parameters: [a, b, c], bucketBytes: 200)
        #expect(store.buckets.map { $0.parameters.map(\.name) } == [["c"], ["a"], ["b"]])
        for (p, g) in [(a, Float(1)), (b, 10), (c, 2)] { for i in 0..<40 { p.grad[i] = g } }
        // Tensor-parallel rank 1's copy of b is not counted in the norm.
        let one = RankGroups.single()
        #expect(try GradientNorm.squared(store, shards: one.zeroGroups, model: one.model) == 40 * (1 + 4))
    }

    @Test func flatAdamWEqualsAnUpdatePerParameter() throws {
        let params = Self.parameters(), grads = params.map { TestSupport.randomFloats($0.grad.count, seed: 99, scale: 0.1) }
        let reference = params.map { $0.value.clone() }
        let store = ParameterStore(parameters: params, bucketBytes: 64)  // several buckets
        #expect(store.buckets.count > 1)
        let adam = AdamW(store: store, weightDecay: 0.1)
        let m = params.map { Tensor($0.shape) }, v = params.map { Tensor($0.shape) }
        for t in 1...3 {
            for (p, g) in zip(params, grads) { p.grad.load(g) }
            adam.step(lr: 1e-2)
            for (i, p) in params.enumerated() {
                let s = AdamWKernel.Step(lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: p.decay ? 0.1 : 0, t: t)
                grads[i].withUnsafeBufferPointer {
                    AdamWKernel.update(p: reference[i].data, g: $0.baseAddress!, m: m[i].data, v: v[i].data,
                                       n: p.value.count, step: s)
                }
            }
        }
        let layout = params.map { (name: $0.name, shape: $0.shape) }, one = RankGroups.single()
        let states = adam.momentStates
        let wholeM = try BucketTensors.gather(states.m, layout: layout, model: one.model, shards: nil)
        let wholeV = try BucketTensors.gather(states.v, layout: layout, model: one.model, shards: nil)
        for (i, p) in params.enumerated() {
            #expect(p.value.array == reference[i].array, "\(p.name)")
            #expect(wholeM[p.name] == m[i].array && wholeV[p.name] == v[i].array, "\(p.name) moments")
        }
        for b in store.buckets {  // padding stays zero
            let used = Set(b.ranges.flatMap { Array($0) })
            #expect((0..<b.count).filter { !used.contains($0) }.allSatisfy { b.values.floats[$0] == 0 })
        }
    }

    @Test func gradientSyncSumsEachBucketInPlaceOnce() throws {
        var dp2 = TrainConfig()
        dp2.dp = 2
        let config = dp2, seen = Mutex<[[Float]]>([])
        try ThreadWorld.run(size: 2) { world in
            let groups = try RankGroups(config: config, world: world)
            let params = Self.parameters()
            for p in params { p.grad.load(TestSupport.randomFloats(p.grad.count, seed: UInt64(7 + groups.dp.rank))) }
            let store = ParameterStore(parameters: params, bucketBytes: 64, shards: 2)
            let addresses = params.map(\.grad.data)
            try GradientSync(store: store, groups: groups).run()
            #expect(params.map(\.grad.data) == addresses)
            let tally = groups.dp.tallies["allReduce"]!
            #expect(tally.calls == store.buckets.count)
            #expect(tally.elements == store.buckets.reduce(0) { $0 + $1.count })  // the buffers themselves, nothing else
            seen.withLock { $0.append(params.flatMap(\.grad.array)) }
        }
        let results = seen.withLock { $0 }
        let expected = Self.parameters().flatMap { p in
            zip(TestSupport.randomFloats(p.grad.count, seed: 7), TestSupport.randomFloats(p.grad.count, seed: 8)).map(+)
        }
        #expect(results.count == 2 && results.allSatisfy { $0 == expected })
    }
}
