import Testing
import Tessera

@Suite struct PhiloxTests {
    /// Random123's known-answer vectors for philox4x32-10.
    @Test func matchesRandom123KnownAnswers() {
        let zero = Philox(key0: 0, key1: 0).block(0, 0, 0, 0)
        #expect([zero.0, zero.1, zero.2, zero.3] == [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8])
        let ones = Philox(key0: 0xffff_ffff, key1: 0xffff_ffff).block(0xffff_ffff, 0xffff_ffff, 0xffff_ffff, 0xffff_ffff)
        #expect([ones.0, ones.1, ones.2, ones.3] == [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd])
        let pi = Philox(key0: 0xa409_3822, key1: 0x299f_31d0).block(0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344)
        #expect([pi.0, pi.1, pi.2, pi.3] == [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1])
    }

    @Test func normalDrawsHaveUnitMomentsAndDependOnlyOnIndex() {
        let rng = Philox(seed: 42, stream: "init/w")
        let n = 200_000
        var sum = 0.0, sq = 0.0
        for i in 0..<n { let z = Double(rng.normal(i)); sum += z; sq += z * z }
        let mean = sum / Double(n), variance = sq / Double(n) - mean * mean
        #expect(abs(mean) < 0.01, "mean \(mean)")
        #expect(abs(variance - 1) < 0.01, "variance \(variance)")
        // A shard drawing elements 1000..<1010 gets exactly the serial values.
        let other = Philox(seed: 42, stream: "init/w")
        #expect((1000..<1010).map { other.normal($0) } == (1000..<1010).map { rng.normal($0) })
        #expect(Philox(seed: 42, stream: "init/v").normal(5) != rng.normal(5))
    }

    @Test func shardedParameterInitEqualsSliceOfFullInit() {
        let full = Parameter(name: "h.0.mlp.fc.weight", shape: [8, 6], rule: .normal(0.02))
        full.initialize(seed: 7)
        // Rows 4..<8 only (a tensor-parallel shard of the output dimension).
        let shard = Parameter(name: "h.0.mlp.fc.weight", shape: [4, 6], rule: .normal(0.02),
                              globalShape: [8, 6], globalIndex: { $0 + 24 })
        shard.initialize(seed: 7)
        #expect(shard.value.array == Array(full.value.array[24...]))
    }

    @Test func dropoutMaskKeepsAboutOneMinusPAndScales() {
        let site = DropoutSite(seed: 3, name: "h.0.attn.resid", step: 5, p: 0.25)
        let rows = 64, c = 96
        let x = Tensor([rows, c], [Float](repeating: 1, count: rows * c))
        DropoutKernel.apply(x.data, rows: rows, c: c, featureBase: 0,
                            coords: RowCoordinates(sampleOffset: 0, positions: 16), site: site)
        let kept = x.array.filter { $0 != 0 }
        #expect(Set(kept) == [Float(1) / 0.75])
        let fraction = Double(kept.count) / Double(rows * c)
        #expect(abs(fraction - 0.75) < 0.02, "kept fraction \(fraction)")
        // The right half of the features, applied separately with featureBase 48, is the same mask.
        let half = Tensor([rows, 48], [Float](repeating: 1, count: rows * 48))
        DropoutKernel.apply(half.data, rows: rows, c: 48, featureBase: 48,
                            coords: RowCoordinates(sampleOffset: 0, positions: 16), site: site)
        let right = (0..<rows).flatMap { r in x.array[(r * c + 48)..<(r * c + 96)] }
        #expect(half.array == right)
    }
}
