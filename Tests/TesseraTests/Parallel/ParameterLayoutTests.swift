import Foundation
import Synchronization
import Testing
import Tessera

/// `GPT.parameterLayout` is read from the parameters as the layers build
/// them, and every layout's pieces, each widened to its global shape by its
/// placement, cover exactly the one-rank model's parameters.
@Suite struct ParameterLayoutTests {
    /// vocab 259 is not a multiple of tp 2 or 4, so wte's shards carry padding.
    static let config = GPTConfig(vocab: 259, seqLen: 16, layers: 4, dModel: 32, heads: 4, dropout: 0)

    @Test func theLayoutIsTheOneRankModelsParametersWithoutStorage() {
        let serial = GPT(Self.config, seed: 1)
        let layout = GPT.parameterLayout(Self.config)
        #expect(layout.map(\.name) == serial.parameters.map(\.name))
        #expect(layout.map(\.shape) == serial.parameters.map(\.shape))
        #expect(layout.count == 2 + 12 * Self.config.layers + 2)
        let declared = Parameter.declaring { GPT(Self.config, seed: 1) }
        #expect(declared.parameters.allSatisfy { $0.value.count == 0 }, "declared parameters hold no storage")
    }

    /// Each (tp, sequence-parallel, pipeline stages) layout: every rank's
    /// global shapes, from placements, agree with the one-rank model's, and
    /// together the ranks hold every parameter.
    @Test(arguments: [(1, false, 2), (2, false, 1), (2, true, 1), (4, false, 2), (2, true, 4)])
    func everyLayoutsPiecesWidenToTheOneRankShapes(tp: Int, sp: Bool, stages: Int) throws {
        let expected = Dictionary(uniqueKeysWithValues: GPT.parameterLayout(Self.config).map { ($0.name, $0.shape) })
        let seen = Mutex<[String: [Int]]>([:]), wrong = Mutex<[String]>([])
        let per = Self.config.layers / stages
        try ThreadWorld.run(size: tp) { world in
            for s in 0..<stages {
                let model = GPT(Self.config, seed: 1, tp: TensorParallel(group: world, sequenceParallel: sp),
                                layers: s * per..<(s + 1) * per, first: s == 0, last: s == stages - 1)
                for (name, shape) in model.heldLayout {
                    if expected[name] != shape { wrong.withLock { $0.append("\(name) \(shape)") } }
                    seen.withLock { $0[name] = shape }
                }
            }
        }
        #expect(wrong.withLock { $0 }.isEmpty, "\(wrong.withLock { $0 })")
        #expect(seen.withLock { $0 } == expected)
    }
}
