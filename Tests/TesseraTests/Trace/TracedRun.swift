import Foundation
import Tessera

/// Trains a config's steps traced (`--trace`) on threads and returns the file's bytes.
enum TracedRun {
    static func file(_ config: TrainConfig) throws -> Data {
        var c = config
        let path = TestSupport.temporaryPath("trace.json")
        defer { try? FileManager.default.removeItem(atPath: path) }
        c.trace = path
        let run = c, data = try TokenDataset.builtIn(seqLen: c.model.seqLen)
        try Launcher.run(config: run, backend: .threads) { groups in
            let trainer = try Trainer(config: run, data: data, groups: groups)
            for _ in 0..<run.steps { _ = try trainer.trainStep() }
        }
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }
}
