import Foundation
import Testing

/// Issue 11, items 1–4: Tessera never destroys or overwrites what it did not
/// write, never leaves a checkpoint path without a complete checkpoint, and
/// never lets two runs write one directory. Each test drives the command line
/// only, so it can be pointed at an older build (TESSERA_BIN=…) — where every
/// one of them fails.
@Suite(.enabled(if: TesseraCLI.available, "needs a release build of tessera"))
struct DataLossTests {
    @Test func checkpointPathHoldingSomethingElseIsRefusedAndKept() throws {
        let cli = TesseraCLI()
        defer { cli.cleanUp() }
        try FileManager.default.createDirectory(atPath: cli.path("docs"), withIntermediateDirectories: false)
        try Data("my thesis".utf8).write(to: URL(fileURLWithPath: cli.path("docs/thesis.txt")))
        try Data("notes".utf8).write(to: URL(fileURLWithPath: cli.path("notes.txt")))
        for target in ["docs", "notes.txt"] {
            let r = try cli.run(["train", "--steps", "2", "--checkpoint", target] + TesseraCLI.tiny)
            #expect(r.status == 2, "\(target): \(r.output)")
            #expect(r.output.contains("'\(target)'") && r.output.contains("not a Tessera checkpoint")
                    && !r.output.contains("step 1/"), "\(target): \(r.output)")
        }
        #expect(cli.snapshot("docs") == ["thesis.txt": Data("my thesis".utf8)])
        #expect(FileManager.default.contents(atPath: cli.path("notes.txt")) == Data("notes".utf8))
    }

    @Test func resumedRunSavesToItsOwnDirectoryNotTheRecordedOne() throws {
        let cli = TesseraCLI()
        defer { cli.cleanUp() }
        #expect(try cli.run(["train", "--steps", "3", "--checkpoint", "run1"] + TesseraCLI.tiny).status == 0)
        let before = cli.snapshot("run1")
        try FileManager.default.copyItem(atPath: cli.path("run1"), toPath: cli.path("backup"))
        let r = try cli.run(["train", "--resume", "backup", "--steps", "5"] + TesseraCLI.tiny)
        #expect(r.status == 0 && r.output.contains("saved checkpoint backup at step 5"), "\(r.output)")
        #expect(cli.snapshot("run1") == before, "run1 was overwritten by a run resumed from its copy")
        let model = cli.snapshot("backup")["model.safetensors"] ?? Data()
        #expect(!model.isEmpty && model.range(of: Data(cli.dir.utf8)) == nil,
                "the checkpoint records an absolute path of this machine")
        let saved = cli.snapshot("backup")
        let elsewhere = try cli.run(["train", "--resume", "backup", "--steps", "6", "--checkpoint", "branch"] + TesseraCLI.tiny)
        #expect(elsewhere.status == 0 && elsewhere.output.contains("saved checkpoint branch at step 6"), "\(elsewhere.output)")
        #expect(cli.snapshot("backup") == saved && cli.snapshot("run1") == before)
    }

    @Test func aCrashBetweenTheRenamesOfASaveLeavesALoadableCheckpoint() throws {
        let cli = TesseraCLI()
        defer { cli.cleanUp() }
        #expect(try cli.run(["train", "--steps", "2", "--checkpoint", "old"] + TesseraCLI.tiny).status == 0)
        #expect(try cli.run(["train", "--steps", "4", "--checkpoint", "new"] + TesseraCLI.tiny).status == 0)
        // The state the two-rename swap of process 999999 left when killed between its renames.
        try FileManager.default.moveItem(atPath: cli.path("old"), toPath: cli.path("ckpt.previous-999999"))
        try FileManager.default.moveItem(atPath: cli.path("new"), toPath: cli.path("ckpt.saving-999999"))
        let g = try cli.run(["generate", "--checkpoint", "ckpt", "--tokens", "4"])
        #expect(g.status == 0, "\(g.output)")
        let r = try cli.run(["train", "--resume", "ckpt", "--steps", "6"] + TesseraCLI.tiny)
        #expect(r.status == 0 && r.output.contains("resuming ckpt at step 4"), "\(r.output)")
        #expect(cli.entries(startingWith: "ckpt.") == [], "stale temporaries left: \(cli.entries(startingWith: "ckpt."))")
    }

    @Test func twoRunsCannotWriteOneCheckpointDirectory() throws {
        let cli = TesseraCLI()
        defer { cli.cleanUp() }
        let first = cli.start(["train", "--steps", "100000", "--log-every", "1", "--checkpoint", "shared"] + TesseraCLI.tiny,
                              output: cli.path("first.txt"))
        // SIGKILL: the child inherits the test runner's signal mask, in which SIGTERM may be blocked.
        defer { if first.process.isRunning { kill(first.process.processIdentifier, SIGKILL) }; first.process.waitUntilExit() }
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, !((try? String(contentsOfFile: first.log, encoding: .utf8)) ?? "").contains("step 2/") {
            Thread.sleep(forTimeInterval: 0.05)
        }
        let second = try cli.run(["train", "--steps", "2", "--checkpoint", "shared"] + TesseraCLI.tiny)
        #expect(second.status == 2, "\(second.output)")
        #expect(second.output.contains("process \(first.process.processIdentifier)"), "\(second.output)")
        #expect(first.process.isRunning)
    }
}
