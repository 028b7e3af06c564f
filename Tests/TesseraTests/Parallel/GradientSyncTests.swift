import Foundation
import Synchronization
import Testing
import Tessera

@Suite struct GradientSyncTests {
    /// dp2 with small buckets and two micro-batches, `steps` steps: rank 0's
    /// parameters, and how many buckets started during backward each step.
    static func train(overlap: Bool, steps: Int = 2) throws -> (params: [[Float]], started: [Int]) {
        Compute.threads = 1
        var c = Equivalence.defaultConfig
        c.dp = 2; c.microBatches = 2; c.bucketMB = 0.02; c.steps = steps
        let config = c, data = try TokenDataset.builtIn(seqLen: c.model.seqLen)
        let out = Mutex<(params: [[Float]], started: [Int])>(([], []))
        try Launcher.run(config: config, backend: .threads) { groups in
            let trainer = try Trainer(config: config, data: data, groups: groups)
            trainer.gradientSync.overlap = overlap
            var started: [Int] = []
            for _ in 0..<steps {
                _ = try trainer.trainStep()
                started.append(trainer.gradientSync.startedDuringBackward)
            }
            if groups.worldRank == 0 { out.withLock { $0 = (trainer.parameters.map(\.value.array), started) } }
        }
        return out.withLock { $0 }
    }

    @Test func overlappedSyncStartsBucketsDuringBackwardAndTrainsBitForBitTheSame() throws {
        let overlapped = try Self.train(overlap: true), after = try Self.train(overlap: false)
        #expect(after.started == [0, 0])
        // Every bucket (all are summed over dp only here) started during the last backward.
        #expect(overlapped.started.count == 2 && overlapped.started.allSatisfy { $0 > 4 }, "\(overlapped.started)")
        #expect(overlapped.params == after.params)  // the same sums, only earlier
    }
}
