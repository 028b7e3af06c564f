import Foundation
import Testing
import Tessera

/// Every kind of bad input gets a one-line error that names the value and
/// what would be valid, before any training starts.
@Suite struct BadInputTests {

    @Test func missingEmptyDirectoryAndShortDataFiles() throws {
        let missing = TestSupport.message { _ = try TokenDataset.load(path: "/nonexistent/corpus.txt", seqLen: 32) }
        #expect(missing.contains("/nonexistent/corpus.txt") && missing.contains("does not exist"))

        let empty = TestSupport.temporaryPath("empty.txt")
        FileManager.default.createFile(atPath: empty, contents: Data())
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let emptyMessage = TestSupport.message { _ = try TokenDataset.load(path: empty, seqLen: 32) }
        #expect(emptyMessage.contains("is empty") && emptyMessage.contains("66 bytes"))

        let dir = NSTemporaryDirectory()
        #expect(TestSupport.message { _ = try TokenDataset.load(path: dir, seqLen: 32) }.contains("is a directory"))

        let short = TestSupport.temporaryPath("short.txt")
        FileManager.default.createFile(atPath: short, contents: Data("hello world".utf8))
        defer { try? FileManager.default.removeItem(atPath: short) }
        let shortMessage = TestSupport.message { _ = try TokenDataset.load(path: short, seqLen: 32) }
        #expect(shortMessage.contains("11 bytes") && shortMessage.contains("seq-len 32") && shortMessage.contains("at least 66"))
    }

    @Test func modelShapeErrorsNameTheValueAndValidChoices() {
        var c = TrainConfig()
        c.model.dModel = 100
        c.model.heads = 3
        let m = TestSupport.message { try c.validate() }
        #expect(m.contains("d-model 100 is not divisible by heads 3") && m.contains("1, 2, 4, 5"))
        for (key, value, range) in [("layers", 0, "1...100000"), ("d-model", -4, "1...1048576"), ("heads", 0, "1...65536"),
                                    ("seq-len", -1, "1...1048576"), ("batch", 0, "1...16777216"), ("steps", 0, "1...1000000000")] {
            var bad = TrainConfig()
            #expect(TestSupport.message { try bad.set(key, .int(value), source: "test") }
                        == "test: \(key) must be an integer in \(range), got \(value)", "\(key)")
        }
        var steps = TrainConfig()
        steps.steps = 0  // set directly, bypassing the table: validate() still checks the range
        #expect(TestSupport.message { try steps.validate() } == "steps must be an integer in 1...1000000000, got 0")
        var vocab = TrainConfig()
        vocab.model.vocab = 100
        #expect(TestSupport.message { try vocab.validate() }.contains("vocab must be at least 256 (byte tokens), got 100"))
        var micro = TrainConfig()
        micro.batch = 6
        micro.microBatches = 4
        #expect(TestSupport.message { try micro.validate() }.contains("dp × micro-batches must divide 6: 1, 2, 3, 6"))
    }

    @Test func layoutErrorsNameTheNumbersAndTheValidChoices() throws {
        var heads = TrainConfig()
        heads.tp = 3
        #expect(TestSupport.message { try heads.validate() }.contains("tp 3 does not divide heads 4; valid tp for heads 4: 1, 2, 4"))
        var seq = TrainConfig()
        seq.tp = 4; seq.sp = true; seq.model.seqLen = 30
        #expect(TestSupport.message { try seq.validate() }.contains("seq-len 30, tp 4; nearest valid seq-len: 28, 32"))
        seq.sp = false
        #expect(throws: Never.self) { try seq.validate() }  // without SP the sequence is not split
        var batch = TrainConfig()
        batch.dp = 4; batch.microBatches = 3
        let m = TestSupport.message { try batch.validate() }
        #expect(m.contains("batch 16 is not divisible by dp 4 × micro-batches 3 = 12; nearest valid batch: 12, 24"))
        var zero = TrainConfig()
        zero.dp = 0
        #expect(TestSupport.message { try zero.validate() } == "dp must be an integer in 1...65536, got 0")
        var bucket = TrainConfig()
        bucket.bucketMB = 0
        #expect(TestSupport.message { try bucket.validate() } == "bucket-mb must be a positive number, got 0.0")
        var fromFile = TrainConfig()
        try fromFile.set("sp", .bool(true), source: "test")
        try fromFile.set("tp", .int(2), source: "test")
        #expect(fromFile.sp && fromFile.tp == 2 && fromFile.layoutName == "tp2+sp")
        #expect(TestSupport.message { try fromFile.set("sp", .int(1), source: "test") } == "test: sp must be true or false, got 1")
        // The world must have dp · tp ranks.
        var layout = TrainConfig()
        layout.dp = 2; layout.tp = 2
        #expect(TestSupport.message { _ = try RankGroups(config: layout, world: ThreadWorld(size: 2).worldGroup(rank: 0)) }
                    .contains("layout dp2×tp2 needs dp 2 × pp 1 × cp 1 × tp 2 = 4 ranks, but the job has 2"))
    }

    @Test func unknownOrIllTypedConfigKeys() throws {
        let toml = TestSupport.temporaryPath("bad.toml")
        try "layers = 2\nlearning_rate = 0.1\n".write(toFile: toml, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: toml) }
        var c = TrainConfig()
        let m = TestSupport.message { try c.apply(file: toml) }
        #expect(m.contains("line 2: unknown key 'learning_rate'") && m.contains("valid keys:") && m.contains("lr"))

        let json = TestSupport.temporaryPath("bad.json")
        try #"{"layers": "two"}"#.write(toFile: json, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: json) }
        #expect(TestSupport.message { try c.apply(file: json) }.contains("layers must be an integer in 1...100000, got 'two'"))

        let good = TestSupport.temporaryPath("good.toml")
        try "[model]\nlayers = 3  # blocks\nd-model = 48\n[train]\nlr = 1e-3\ndata = \"x.txt\"\n".write(toFile: good, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: good) }
        var g = TrainConfig()
        try g.apply(file: good)
        #expect(g.model.layers == 3 && g.model.dModel == 48 && g.lr == 1e-3 && g.data == "x.txt")
    }

    @Test func divergingTrainingStopsWithANamedError() throws {
        Compute.threads = 1
        var c = TrainingTests.tinyConfig(steps: 50)
        c.lr = 1e6
        c.gradClip = 0
        c.warmup = 0
        let trainer = try Trainer(config: c, data: try TokenDataset.builtIn(seqLen: 16))
        let m = TestSupport.message { try trainer.run(log: { _ in }) }
        #expect(m.contains("became") && m.contains("lower --lr"), "got: \(m)")
    }

    @Test func checkpointOfAnotherShapeIsRefused() throws {
        Compute.threads = 1
        let data = try TokenDataset.builtIn(seqLen: 16)
        let dir = TestSupport.temporaryPath("shape")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Trainer(config: TrainingTests.tinyConfig(), data: data).checkpoint().save(to: dir)
        let ckpt = try Checkpoint.load(from: dir)
        var wider = TrainingTests.tinyConfig()
        wider.model.dModel = 64
        let m = TestSupport.message { _ = try Trainer(config: wider, data: data, resume: (ckpt, dir)) }
        #expect(m.contains("d-model=32") && m.contains("d-model=64"))
        #expect(TestSupport.message { _ = try Checkpoint.load(from: dir + "-missing") }.contains("no checkpoint"))
    }
}

/// The command line: unknown flags and bad values exit non-zero with one clear line.
@Suite struct CommandLineTests {
    static let binary = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../../.build/release/tessera").standardized.path

    func run(_ args: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: out, as: UTF8.self))
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: binary), "needs a release build of tessera"))
    func badFlagsAndValuesFailFast() throws {
        let unknown = try run(["train", "--layerz", "2"])
        #expect(unknown.status != 0 && unknown.output.contains("--layerz"))
        let heads = try run(["train", "--d-model", "30", "--heads", "4", "--steps", "1"])
        #expect(heads.status == 2 && heads.output.contains("d-model 30 is not divisible by heads 4"))
        let data = try run(["train", "--data", "/nonexistent.txt", "--steps", "1"])
        #expect(data.status == 2 && data.output.contains("/nonexistent.txt"))
        let ckpt = try run(["generate", "--checkpoint", "/nonexistent-ckpt"])
        #expect(ckpt.status == 2 && ckpt.output.contains("no checkpoint"))
    }

    /// Each command refuses a bad value with one line naming it and what is valid, exit 2, before any work.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: binary), "needs a release build of tessera"),
          arguments: [
            (["train", "--steps", "-5"], "steps must be an integer in 1...1000000000, got -5"),
            (["train", "--grad-clip", "-1"], "grad-clip must be 0 (off) or a positive number, got -1"),
            (["train", "--pp", "2", "--layers", "2", "--cp", "3"], "context parallelism cuts each sequence into 2·cp = 6 chunks, but seq-len 64 is not divisible by 6; valid cp for seq-len 64: 1, 2, 4, 8, 16, 32"),
            (["train", "--cp", "2", "--cp-mode", "ulysses", "--tp", "4"], "ulysses splits heads over tp × cp = 8, but heads 4 is not divisible by it; valid cp with tp 4: 1 (or --cp-mode ring)"),
            (["train", "--cp-mode", "zigzag"], "cp-mode must be ring or ulysses, got zigzag"),
            (["train", "--tp", "2", "--sp", "--zero", "2"], "zero 2 shards over the data- and context-parallel ranks and needs dp × cp > 1, got dp 1 × cp 1; add --dp N or --cp N (N ≥ 2), or drop --zero"),
            (["train", "--dp", "2", "--zero", "4"], "zero must be an integer in 0...3, got 4"),
            (["train", "--pp", "2", "--layers", "2", "--zero", "3"], "zero 3 shards over the data- and context-parallel ranks and needs dp × cp > 1, got dp 1 × cp 1; add --dp N or --cp N (N ≥ 2), or drop --zero"),
            (["train", "--tp", "2", "--experts", "4", "--expert-tp", "3"], "expert-tp 3 must be 1 (whole experts on each tensor-parallel rank) or tp (each expert split like the dense MLP); valid expert-tp with tp 2: 1, 2"),
            (["verify", "--checkpoint", "d"], "checkpoint is not taken here: verify trains one rank and the layout"),
            (["generate", "--checkpoint", "d", "--sample", "-1"], "--tokens must be in 1...1048576, got -1"),
            (["generate", "--checkpoint", "d", "--prompt", "x", "--tokens", "0"], "--tokens must be in 1...1048576, got 0"),
            (["generate", "--checkpoint", "d", "--prompt", "x", "--top-p", "1.5"], "--top-p must be in (0, 1], got 1.5"),
            (["generate", "--checkpoint", "d", "--prompt", ""], "the prompt is empty"),
            (["schedule", "--pp", "100000"], "pp must be an integer in 1...65536, got 100000"),
            (["schedule", "--pp", "1000", "--micro-batches", "100000"], "schedule actions; at most 100000 are supported"),
            (["mesh", "--dp", "1000", "--tp", "1000"], "more than the 65536 a mesh may have"),
            (["bench", "parallel", "--layouts", "dp2,tq2"], "layout 'tq2': 'tq2' is not dpN, ppN, cpN, tpN or epN"),
            (["bench", "train", "--steps", "-1"], "--steps must be in 1...10000, got -1"),
            (["check", "comm", "--timeout", "-1"], "--timeout must be a positive number of seconds, got -1.0"),
          ])
    func everyCommandRefusesABadValueWithOneLine(_ args: [String], _ message: String) throws {
        let r = try run(args)
        #expect(r.status == 2 && r.output.hasPrefix("tessera: error: ") && r.output.contains(message), "\(r.output)")
        #expect(r.output.split(separator: "\n").count == 1, "\(r.output)")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: binary), "needs a release build of tessera"))
    func trainHelpListsEverySettingWithItsDefault() throws {
        let help = try run(["train", "--help"])
        #expect(help.status == 0 && help.output.contains("--steps VALUE   default 1000; an integer in 1...1000000000"))
        #expect(help.output.contains("--micro-batches VALUE   default 1;") && help.output.contains("--resume VALUE"))
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: binary), "needs a release build of tessera"))
    func aDivergedRunExitsWithTheSameStatusOnOneRankAndOnThreads() throws {
        let diverging = ["train", "--layers", "1", "--d-model", "32", "--heads", "2", "--seq-len", "16", "--batch", "4",
                         "--steps", "30", "--lr", "1e6", "--grad-clip", "0", "--warmup", "0", "--sample", "0"]
        let one = try run(diverging + ["--threads", "1"])
        let threads = try run(diverging + ["--dp", "2"])
        #expect(one.status == ErrorKind.training.exitStatus && one.output.contains("tessera: error: ") && one.output.contains("became"),
                "\(one.output)")
        #expect(threads.status == ErrorKind.training.exitStatus && threads.output.contains("failed: ") && threads.output.contains("became"),
                "\(threads.output)")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: binary), "needs a release build of tessera"))
    func layoutTrainingWritesTheSameCheckpointAsOneRank() throws {
        let serialDir = TestSupport.temporaryPath("cli-serial"), layoutDir = TestSupport.temporaryPath("cli-layout")
        defer { for d in [serialDir, layoutDir] { try? FileManager.default.removeItem(atPath: d) } }
        let small = ["--layers", "1", "--d-model", "32", "--heads", "2", "--seq-len", "16", "--batch", "4",
                     "--steps", "6", "--threads", "1", "--dropout", "0.1"]
        let serial = try run(["train", "--checkpoint", serialDir, "--sample", "0"] + small)
        let layout = try run(["train", "--dp", "2", "--tp", "2", "--sp", "--checkpoint", layoutDir, "--sample", "16"] + small)
        #expect(serial.status == 0 && layout.status == 0, "\(layout.output)")
        #expect(layout.output.contains("layout: dp2×tp2+sp, 4 rank(s) on threads"))
        #expect(layout.output.contains("rank 3 (dp 1, pp 0, cp 0, tp 1): weights") && layout.output.contains("activations"))
        #expect(layout.output.contains("sample:"))
        let a = try Checkpoint.load(from: serialDir), b = try Checkpoint.load(from: layoutDir)
        #expect(a.step == 6 && b.step == 6 && Set(a.parameters.keys) == Set(b.parameters.keys))
        for (name, p) in a.parameters {
            let q = b.parameters[name]!
            #expect(p.shape == q.shape && TestSupport.relativeError(q.values, p.values) <= 1e-4, "\(name)")
        }
        // A checkpoint written by one layout resumes under another.
        let resumed = try run(["train", "--resume", layoutDir, "--tp", "2", "--dp", "1", "--steps", "8", "--sample", "0"])
        #expect(resumed.status == 0 && resumed.output.contains("step 8/8"), "\(resumed.output)")
        let gen = try run(["generate", "--checkpoint", layoutDir, "--prompt", "The ", "--tokens", "10"])
        #expect(gen.status == 0 && gen.output.hasPrefix("The "))
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: binary), "needs a release build of tessera"))
    func verifyPrintsTheTableAndFailsBeyondTolerance() throws {
        let ok = try run(["verify", "--tp", "2", "--sp", "--steps", "3"])
        #expect(ok.status == 0 && ok.output.contains("tp2+sp: EQUIVALENT") && ok.output.contains("h.1.mlp.fc.weight |"))
        let strict = try run(["verify", "--tp", "2", "--steps", "3", "--param-tolerance", "0"])
        #expect(strict.status == 1 && strict.output.contains("tp2: NOT EQUIVALENT"))
        let bad = try run(["verify", "--tp", "3"])
        #expect(bad.status == 2 && bad.output.contains("valid tp for heads 4: 1, 2, 4"))
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: binary), "needs a release build of tessera"))
    func trainSavesACheckpointThatGenerateAndResumeUse() throws {
        let dir = TestSupport.temporaryPath("cli-ckpt")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let small = ["--layers", "1", "--d-model", "32", "--heads", "2", "--seq-len", "16", "--batch", "4",
                     "--log-every", "5", "--threads", "1", "--sample", "20"]
        let train = try run(["train", "--steps", "10", "--checkpoint", dir] + small)
        #expect(train.status == 0, "\(train.output)")
        #expect(train.output.contains("step 10/10 | loss") && train.output.contains("tok/s") && train.output.contains("GFLOP/s"))
        let gen = try run(["generate", "--checkpoint", dir, "--prompt", "The ", "--sample", "30"])
        #expect(gen.status == 0 && gen.output.hasPrefix("The ") && gen.output.utf8.count >= 34)
        let done = try run(["train", "--resume", dir, "--steps", "10"])
        #expect(done.status == 2 && done.output.contains("is already at step 10 and steps is 10: nothing to train; pass --steps greater than 10"))
        let resume = try run(["train", "--resume", dir, "--steps", "15", "--sample", "0"])
        #expect(resume.status == 0 && resume.output.contains("resuming") && resume.output.contains("step 15/15"))
        let wrong = try run(["train", "--resume", dir, "--d-model", "64", "--steps", "20"])
        #expect(wrong.status == 2 && wrong.output.contains("d-model=32"))
    }
}
