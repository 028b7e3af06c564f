import Foundation
import Synchronization
import Testing
import Tessera

/// A stage that is not a GPT: h = input · w (the first stage reads the
/// tokens as numbers); the last stage's loss is Σ h·target. Its gradients
/// have a closed form, so the executor's wiring is checked exactly.
final class ScalingStage: PipelineStage, @unchecked Sendable {
    struct Cache: StageCache {
        let input: Tensor
        let dlogits: Tensor?
        var bytes: Int { input.byteCount }
    }
    let w: Float, first: Bool, last: Bool
    var dw: Float = 0
    init(w: Float, first: Bool, last: Bool) { self.w = w; self.first = first; self.last = last }

    func boundaryShape(_ ctx: ForwardContext) -> [Int] { [ctx.rows, 1] }

    func stageForward(tokens: [Int32], input: Tensor?, targets: [Int32], _ ctx: ForwardContext,
                      gradScale: Float?) throws -> (output: Tensor?, loss: Double, cache: Cache) {
        let x = first ? Tensor([ctx.rows, 1], tokens.map(Float.init)) : input!
        let h = Tensor([ctx.rows, 1], x.array.map { $0 * w })
        guard last else { return (h, 0, Cache(input: x, dlogits: nil)) }
        let loss = zip(h.array, targets).reduce(0.0) { $0 + Double($1.0 * Float($1.1)) }
        let dh = gradScale.map { s in Tensor([ctx.rows, 1], targets.map { Float($0) * s }) }
        return (nil, loss, Cache(input: x, dlogits: dh))
    }

    func stageBackward(_ cache: Cache, dOutput: Tensor?, _ ctx: ForwardContext,
                       _ backward: BackwardContext) throws -> Tensor? {
        let dh = last ? cache.dlogits! : dOutput!
        let x = cache.input
        backward.weightGradient { self.dw += zip(dh.array, x.array).reduce(0) { $0 + $1.0 * $1.1 } }
        return first ? nil : Tensor(dh.shape, dh.array.map { $0 * self.w })
    }
}

@Suite struct PipelineStageTests {
    /// Two ranks, four stages (two chunks each): loss Σ t·x·w₀w₁w₂w₃ and
    /// dw_s = Σ t·x·Π_{r≠s} w_r·scale, under every schedule kind.
    @Test(arguments: [PipelineScheduleKind.gpipe, .oneFOneB, .interleaved, .zeroBubbleH1])
    func theExecutorRunsAnyStage(kind: PipelineScheduleKind) throws {
        let chunks = kind == .interleaved ? 2 : 1, stagesCount = 2 * chunks, m = 4
        let weights: [Float] = [0.5, 2, 1.5, 0.25].prefix(stagesCount).map { $0 }
        let ctx = ForwardContext(samples: 1, positions: 3, sampleOffset: 0, step: 0, seed: 0, dropout: 0)
        let batches = (0..<m).map { b in (tokens: [Int32(b + 1), 2, 3], targets: [Int32(1), Int32(b), 2]) }
        let losses = Mutex<[Double]>([]), grads = Mutex<[Int: Float]>([:])
        try ThreadWorld.run(size: 2) { pp in
            let schedule = try PipelineSchedules.make(kind, ranks: 2, microBatches: m, chunks: chunks)
            let ids = (0..<chunks).map { $0 * 2 + pp.rank }
            let stages = ids.map { ScalingStage(w: weights[$0], first: $0 == 0, last: $0 == stagesCount - 1) }
            let executor = PipelineExecutor(schedule: schedule, stages: Dictionary(uniqueKeysWithValues: zip(ids, stages)), pp: pp)
            let loss = try executor.run(batches, contexts: Array(repeating: ctx, count: m), gradScale: 0.5)
            losses.withLock { $0.append(loss) }
            grads.withLock { for (id, s) in zip(ids, stages) { $0[id] = s.dw } }
        }
        let product = weights.reduce(1, *)
        let tx = batches.reduce(Float(0)) { acc, b in acc + zip(b.tokens, b.targets).reduce(0) { $0 + Float($1.0 * $1.1) } }
        #expect(losses.withLock { $0.reduce(0, +) } == Double(tx * product))
        for s in 0..<stagesCount {
            #expect(grads.withLock { $0[s] } == tx * product / weights[s] * 0.5, "stage \(s)")
        }
    }
}
