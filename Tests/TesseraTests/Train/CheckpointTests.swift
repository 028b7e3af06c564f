import Foundation
import Testing
import Tessera

@Suite struct CheckpointTests {
    @Test func resumeContinuesExactlyAsAnUninterruptedRun() throws {
        Compute.threads = 1
        let data = try TokenDataset.builtIn(seqLen: 16)
        let config = TrainingTests.tinyConfig(steps: 6, dropout: 0.1)
        let straight = try Trainer(config: config, data: data)
        let straightLosses = try (0..<6).map { _ in try straight.trainStep().loss }

        let dir = TestSupport.temporaryPath("ckpt")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try Trainer(config: config, data: data)
        for _ in 0..<3 { _ = try first.trainStep() }
        try first.checkpoint().save(to: dir)
        let ckpt = try Checkpoint.load(from: dir)
        #expect(ckpt.step == 3 && ckpt.config == config)
        let resumed = try Trainer(config: ckpt.config, data: data, resume: (ckpt, dir))
        let resumedLosses = try (0..<3).map { _ in try resumed.trainStep().loss }
        #expect(resumedLosses == Array(straightLosses[3...]))
        for (p, q) in zip(straight.model.parameters, resumed.model.parameters) {
            #expect(p.value.array == q.value.array, "\(p.name)")
        }
    }

    @Test func savingOverAnExistingCheckpointReplacesItWhole() throws {
        Compute.threads = 1
        let data = try TokenDataset.builtIn(seqLen: 16)
        let trainer = try Trainer(config: TrainingTests.tinyConfig(), data: data)
        let dir = TestSupport.temporaryPath("ckpt2")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try trainer.checkpoint().save(to: dir)
        _ = try trainer.trainStep()
        try trainer.checkpoint().save(to: dir)
        #expect(try Checkpoint.load(from: dir).step == 1)
        let siblings = try FileManager.default.contentsOfDirectory(atPath: (dir as NSString).deletingLastPathComponent)
        let leftovers = siblings.filter { $0.hasPrefix((dir as NSString).lastPathComponent + ".") }
        #expect(leftovers.isEmpty, "staging directories left behind: \(leftovers)")
    }

    @Test func safetensorsRoundTripsAndRejectsDamage() throws {
        let file = SafeTensors.File(arrays: ["a": .f32(shape: [2, 3], values: [1, 2, 3, 4, 5, 6]),
                                             "t": .i32(shape: [3], values: [7, -8, 9])],
                                    metadata: ["step": "4"])
        let data = try SafeTensors.encode(file)
        let back = try SafeTensors.decode(data, path: "x")
        #expect(back.arrays == file.arrays && back.metadata == file.metadata)
        #expect(throws: CheckpointError.self) { try SafeTensors.decode(data.prefix(data.count - 4), path: "x") }
        #expect(throws: CheckpointError.self) { try SafeTensors.decode(Data([1, 2, 3]), path: "x") }
        var badHeader = data
        badHeader[9] = UInt8(ascii: "!")
        #expect(throws: CheckpointError.self) { try SafeTensors.decode(badHeader, path: "x") }
    }
}
