import Foundation
import Synchronization
import Tessera

/// Helpers shared by the test suites.
enum TestSupport {
    /// Trains `steps` steps of `config` on thread ranks and saves rank 0's
    /// checkpoint (whole tensors, gathered from every rank) to `dir`.
    static func trainAndSave(_ config: TrainConfig, data: TokenDataset, steps: Int, to dir: String) throws {
        try Launcher.run(config: config, backend: .threads) { groups in
            let trainer = try Trainer(config: config, data: data, groups: groups)
            for _ in 0..<steps { _ = try trainer.trainStep() }
            let ckpt = try trainer.checkpoint()
            if groups.worldRank == 0 { try ckpt.save(to: dir) }
        }
    }

    /// Resumes `config` on thread ranks from `ckpt` (saved in `dir` after 3 steps), trains steps 4–6
    /// and returns their losses and rank 0's whole parameters after them.
    static func resumeThreeSteps(_ config: TrainConfig, data: TokenDataset, from ckpt: Checkpoint, dir: String) throws
        -> (losses: [Double], params: [String: [Float]]) {
        let resumed = Mutex<(losses: [Double], params: [String: [Float]])?>(nil)
        try Launcher.run(config: config, backend: .threads) { groups in
            let trainer = try Trainer(config: config, data: data, resume: (ckpt, dir), groups: groups)
            let losses = try (3..<6).map { _ in try trainer.trainStep().loss }
            let whole = try trainer.wholeParameters()
            if groups.worldRank == 0 { resumed.withLock { $0 = (losses, whole) } }
        }
        guard let r = resumed.withLock({ $0 }) else { throw CheckpointError("the resumed run returned nothing") }
        return r
    }

    /// Absolute path of a file in Tests/TesseraTests/Fixtures.
    static func fixture(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/" + name).path
    }

    /// max_i |a_i − b_i| / max_i |b_i| (`Equivalence.relativeDifference`):
    /// error relative to the reference tensor's scale (element-wise relative
    /// error is meaningless for entries near zero).
    static func relativeError(_ a: [Float], _ b: [Float]) -> Double {
        Equivalence.relativeDifference(a, b)
    }

    /// The error `body` throws, as text ("" if it throws none).
    static func message(_ body: () throws -> Void) -> String {
        do { try body(); return "" } catch { return "\(error)" }
    }

    /// Deterministic pseudo-random floats in [-scale, scale).
    static func randomFloats(_ n: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        let rng = Philox(seed: seed, stream: "test")
        return (0..<n).map { scale * (2 * Philox.unit(Philox.lane(rng.block(UInt32($0 >> 2), 0, 0, 0), $0)) - 1) }
    }

    /// A temporary directory path (not created) unique to this call.
    static func temporaryPath(_ name: String) -> String {
        NSTemporaryDirectory() + "tessera-test-\(getpid())-\(UUID().uuidString.prefix(8))-" + name
    }

    /// Central finite differences of a double-precision scalar function.
    static func numericGradient(_ x: [Double], h: Double = 1e-6, _ f: ([Double]) -> Double) -> [Double] {
        var g = [Double](repeating: 0, count: x.count), xp = x
        for i in 0..<x.count {
            xp[i] = x[i] + h; let up = f(xp)
            xp[i] = x[i] - h; let down = f(xp)
            xp[i] = x[i]
            g[i] = (up - down) / (2 * h)
        }
        return g
    }
}

extension GPT {
    /// Copies named float arrays (checkpoint or fixture names) into the parameters.
    func load(_ file: SafeTensors.File) throws {
        for p in parameters {
            let (shape, values) = try file.floats(p.name, in: "fixture")
            precondition(shape == p.shape, "\(p.name): \(shape) vs \(p.shape)")
            p.value.load(values)
        }
    }
}
