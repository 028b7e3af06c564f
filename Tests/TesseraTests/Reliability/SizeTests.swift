import Foundation
import Synchronization
import Testing
import Tessera

/// Issue 11, item 7: sizes are checked before anything is allocated — the
/// per-rank memory estimate against the machine, and bounded counts for
/// the schedule and mesh commands — each refused in one line with the
/// estimate, the largest term and what would fit.
@Suite struct SizeTests {
    @Test func theEstimateCountsExactlyTheWeightsARankHolds() throws {
        Compute.threads = 1
        let data = try TokenDataset.builtIn(seqLen: 16)
        var config = TrainingTests.tinyConfig()
        config.model.vocab = 259  // padded to a multiple of tp
        let serial = try Trainer(config: config, data: data)
        @Sendable func bytes(_ t: Trainer) -> Double { Double(t.parameters.reduce(0) { $0 + $1.value.byteCount }) }
        #expect(MemoryEstimate(config, ranksHere: 1).perRank.weights == bytes(serial))
        config.tp = 2
        let weights = Mutex(0.0), tp2 = config
        try Launcher.run(config: tp2, backend: .threads) { groups in
            let t = try Trainer(config: tp2, data: data, groups: groups)
            if groups.worldRank == 0 { weights.withLock { $0 = bytes(t) } }
        }
        #expect(MemoryEstimate(config, ranksHere: 2).perRank.weights == weights.withLock { $0 })
        let e = MemoryEstimate(config, ranksHere: 2)
        #expect(e.perRank.adam == 2 * e.perRank.weights && e.totalHere == 2 * e.perRank.total)
    }

    @Test func aRunThatDoesNotFitIsRefusedWithTheLargestTermAndWhatFits() {
        var big = TrainConfig()
        big.model.dModel = 65536
        big.model.heads = 1
        let m = TestSupport.message { try MemoryEstimate(big, ranksHere: 1).require(available: 16 * 1_073_741_824) }
        #expect(m.contains("this run needs about") && m.contains("16.00 GiB is available")
                && m.contains("largest term: adam") && m.contains("what fits: at most"), "\(m)")
        var wide = TrainConfig()
        wide.batch = 100_000_000
        let w = TestSupport.message { try MemoryEstimate(wide, ranksHere: 1).require(available: 16 * 1_073_741_824) }
        #expect(w.contains("largest term: activations") && w.contains("micro-batches of at most"), "\(w)")
        #expect(throws: Never.self) { try MemoryEstimate(TrainConfig(), ranksHere: 4).require(available: 1_073_741_824) }
    }

    @Test func productsOfCountsAreBoundedWithoutOverflow() {
        let m = TestSupport.message {
            _ = try SizeLimits.product([("--dp", Int.max / 2), ("--tp", 3)], atMost: 100, of: "ranks")
        }
        #expect(m.contains("more than \(Int.max) ranks; at most 100"), "\(m)")
        #expect((try? SizeLimits.product([("--dp", 4), ("--tp", 8)], atMost: 100, of: "ranks")) == 32)
        #expect(TestSupport.message { _ = try SizeLimits.product([("--pp", 0)], atMost: 9, of: "x") }
                    .contains("--pp must be at least 1, got 0"))
    }
}

/// The same through the command line: huge sizes exit at once with one line.
@Suite(.enabled(if: TesseraCLI.available, "needs a release build of tessera"))
struct SizeCommandLineTests {
    /// Sizes each setting's range allows, whose run would not fit.
    @Test(arguments: [["train", "--d-model", "1000000", "--heads", "1"], ["train", "--vocab", "16000000"],
                      ["train", "--layers", "100000"], ["train", "--batch", "16000000"],
                      ["train", "--config", "huge.json"], ["verify", "--tp", "2", "--layers", "100000"]])
    func hugeRunsAreRefusedBeforeAllocating(args: [String]) throws {
        let cli = TesseraCLI()
        defer { cli.cleanUp() }
        try Data(#"{"layers": 100000, "d-model": 4096, "heads": 32}"#.utf8).write(to: URL(fileURLWithPath: cli.path("huge.json")))
        let start = Date()
        let r = try cli.run(args + ["--steps", "1"])
        #expect(r.status == 2 && r.output.contains("this run needs about") && r.output.contains("largest term")
                && r.output.contains("what fits"), "\(args): \(r.output)")
        #expect(r.output.split(separator: "\n").filter { $0.contains("error") }.count == 1
                && Date().timeIntervalSince(start) < 30, "\(r.output)")
    }

    @Test func anOverflowingLayerCountIsRefusedByItsRange() throws {
        let cli = TesseraCLI()
        defer { cli.cleanUp() }
        try Data(#"{"layers": 1e18}"#.utf8).write(to: URL(fileURLWithPath: cli.path("huge.json")))
        let r = try cli.run(["train", "--config", "huge.json"])
        #expect(r.status == 2 && r.output.contains("layers must be an integer in 1...100000, got 1000000000000000000"), "\(r.output)")
    }

    @Test(arguments: [(["schedule", "--pp", "1000", "--micro-batches", "1000"], "schedule actions; at most 100000"),
                      (["mesh", "--dp", "1000", "--tp", "1000"], "more than the 65536 a mesh may have"),
                      (["mesh", "--dp", "4611686018427387904", "--tp", "4"], "dp must be an integer in 1...65536")])
    func hugeSchedulesAndMeshesAreRefused(args: [String], expected: String) throws {
        let cli = TesseraCLI()
        defer { cli.cleanUp() }
        let r = try cli.run(args)
        #expect(r.status == 2 && r.output.contains(expected), "\(r.output)")
    }
}
