import Foundation
import Synchronization
import Testing
import Tessera

/// What the tensor-parallel region communicates, counted on the tp group.
@Suite struct TensorParallelCommTests {
    /// Collective counts of one forward (loss only) and one forward+backward
    /// pass on each rank of a tp2 model with `layers` blocks.
    static func counts(layers: Int, sp: Bool, measure: KeyPath<CountingGroup.Tally, Int> & Sendable = \.calls) throws
        -> (forward: [String: Int], both: [String: Int]) {
        let config = GPTConfig(vocab: 256, seqLen: 16, layers: layers, dModel: 32, heads: 4, dropout: 0.1)
        let result = Mutex<(forward: [String: Int], both: [String: Int])>(([:], [:]))
        try ThreadWorld.run(size: 2) { world in
            let tp = TensorParallel(group: world, sequenceParallel: sp)
            let model = GPT(config, seed: 1, tp: tp)
            let tokens = (0..<32).map { Int32($0 % 200) }
            let ctx = ForwardContext(samples: 2, positions: 16, sampleOffset: 0, step: 0, seed: 1, dropout: 0.1)
            _ = try model.loss(tokens, tokens, ctx)
            let forward = tp.group.tallies.mapValues { $0[keyPath: measure] }
            tp.group.reset()
            _ = try model.forwardBackward(tokens, tokens, ctx, gradScale: 1)
            let both = tp.group.tallies.mapValues { $0[keyPath: measure] }
            if world.rank == 0 { result.withLock { $0 = (forward, both) } }
        }
        return result.withLock { $0 }
    }

    /// Per block: the counts of a 3-block model minus those of a 1-block model, halved.
    static func perBlock(sp: Bool) throws -> (forward: [String: Int], backward: [String: Int]) {
        let one = try counts(layers: 1, sp: sp), three = try counts(layers: 3, sp: sp)
        func diff(_ a: [String: Int], _ b: [String: Int]) -> [String: Int] {
            Dictionary(uniqueKeysWithValues: Set(a.keys).union(b.keys).map { ($0, ((a[$0] ?? 0) - (b[$0] ?? 0)) / 2) })
                .filter { $0.value != 0 }
        }
        let forward = diff(three.forward, one.forward)
        let both = diff(three.both, one.both)
        let backward = Dictionary(uniqueKeysWithValues: both.map { ($0.key, $0.value - (forward[$0.key] ?? 0)) })
            .filter { $0.value != 0 }
        return (forward, backward)
    }

    @Test func tensorParallelBlockAllReducesOncePerAttentionAndMLPEachWay() throws {
        Compute.threads = 1
        let (forward, backward) = try Self.perBlock(sp: false)
        // attention proj + MLP out forward; qkv + fc input gradients backward.
        #expect(forward == ["allReduce": 2])
        #expect(backward == ["allReduce": 2])
    }

    @Test func sequenceParallelBlockGathersAndScattersInsteadOfAllReducing() throws {
        Compute.threads = 1
        let (forward, backward) = try Self.perBlock(sp: true)
        // Forward: all-gather before qkv and fc, reduce-scatter after proj and out.
        #expect(forward == ["allGather": 2, "reduceScatter": 2])
        // Backward: all-gather of proj/out output grads and of qkv/fc inputs (re-gathered), reduce-scatter of input grads.
        #expect(backward == ["allGather": 4, "reduceScatter": 2])
    }

    @Test func headCommunicatesOnlyStatisticsNeverFullLogits() throws {
        Compute.threads = 1
        // A 1-block tp2 model, forward only: embedding all-reduce, 2 block all-reduces, then the
        // cross-entropy's max and [sum | target] all-reduces of 32 rows each.
        let (forward, _) = try Self.counts(layers: 1, sp: false)
        #expect(forward == ["allReduce": 5])
        // Elements: 3 activations of [32 rows, 32] plus 3·32 statistics; the logits would be 32·256.
        let (elements, _) = try Self.counts(layers: 1, sp: false, measure: \.elements)
        #expect(elements == ["allReduce": 3 * 32 * 32 + 3 * 32])
    }
}

/// Activation memory per layer under TP and TP+SP: what a block saves equals
/// the closed form of `ActivationMemory` (Korthikanti et al.'s formula in
/// Tessera's units), and SP divides the replicated part by t.
@Suite struct ActivationMemoryTests {
    @Test(arguments: [(1, false), (2, false), (2, true), (4, false), (4, true)])
    func savedActivationsMatchTheFormula(_ tp: Int, _ sp: Bool) throws {
        Compute.threads = 1
        let config = GPTConfig(vocab: 256, seqLen: 32, layers: 1, dModel: 64, heads: 4, dropout: 0.1)
        let row = try ActivationMemory.measure(config: config, batch: 2, tp: tp, sp: sp)
        #expect(row.measured == row.tesseraFormula)
        // s=32 b=2 h=64 a=4: TP sbh(4 + 12/t) + asb/t + 4sb floats; SP sbh·16/t + asb/t + 4sb/t
        // (the attention core keeps one log-sum-exp per row and head, no s² term).
        let sbh = 32 * 2 * 64, attn = 4 * 32 * 2 / tp
        let floats = sp ? 16 * sbh / tp + attn + 4 * 64 / tp : (4 + 12 / tp) * sbh + attn + 4 * 64
        #expect(row.measured == 4 * floats)
    }

    @Test func sequenceParallelSavesLessThanTensorParallelAlone() throws {
        Compute.threads = 1
        let config = GPTConfig(vocab: 256, seqLen: 32, layers: 1, dModel: 64, heads: 4, dropout: 0)
        let tp = try ActivationMemory.measure(config: config, batch: 2, tp: 2, sp: false)
        let sp = try ActivationMemory.measure(config: config, batch: 2, tp: 2, sp: true)
        #expect(sp.measured < tp.measured)
        // Korthikanti's formulas order them the same way.
        #expect(sp.korthikanti < tp.korthikanti)
    }
}
