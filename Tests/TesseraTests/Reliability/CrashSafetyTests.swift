import Foundation
import Testing
import Tessera

/// Issue 11, item 3: a save killed (SIGKILL, as a power cut) at every step
/// leaves a complete checkpoint at its path — the old one, or the new one
/// once its marker is written — and the next run cleans the temporaries.
@Suite(.enabled(if: TesseraCLI.available, "needs a release build of tessera"))
struct CrashSafetyTests {
    @Test(arguments: FaultInjection.savePoints)
    func aSaveKilledAtAnyPointLeavesACompleteCheckpoint(point: String) throws {
        let cli = TesseraCLI()
        defer { cli.cleanUp() }
        #expect(try cli.run(["train", "--steps", "2", "--checkpoint", "ck"] + TesseraCLI.tiny).status == 0)
        let killed = try cli.run(["train", "--resume", "ck", "--steps", "4"] + TesseraCLI.tiny,
                                 environment: ["TESSERA_FAULT": "kill-at:\(point)"])
        #expect(killed.status == 128 + SIGKILL, "\(killed.output)")
        let newOnceMarked = FaultInjection.savePoints.firstIndex(of: point)! >= FaultInjection.savePoints.firstIndex(of: "marker-written")!
        let ckpt = try Checkpoint.load(from: cli.path("ck"))
        #expect(ckpt.step == (newOnceMarked ? 4 : 2))
        #expect(cli.entries(startingWith: "ck.") == [], "\(cli.entries(startingWith: "ck."))")
        let again = try cli.run(["train", "--resume", "ck", "--steps", "5"] + TesseraCLI.tiny)
        #expect(again.status == 0 && again.output.contains("saved checkpoint ck at step 5"), "\(again.output)")
    }

    @Test func staleTemporariesOfDeadProcessesAreRemovedBySaves() throws {
        let cli = TesseraCLI()
        defer { cli.cleanUp() }
        let fm = FileManager.default
        try fm.createDirectory(atPath: cli.path("ck.saving-999998"), withIntermediateDirectories: true)
        _ = fm.createFile(atPath: cli.path("ck.saving-999998/model.safetensors"), contents: Data(count: 100))
        try fm.createDirectory(atPath: cli.path("ck.previous-999997"), withIntermediateDirectories: true)
        // Not a temporary of Tessera's: a name that is not a process id, or contents of its own.
        try fm.createDirectory(atPath: cli.path("ck.saving-notes"), withIntermediateDirectories: true)
        try fm.createDirectory(atPath: cli.path("ck.saving-12/mine"), withIntermediateDirectories: true)
        let r = try cli.run(["train", "--steps", "2", "--checkpoint", "ck"] + TesseraCLI.tiny)
        #expect(r.status == 0, "\(r.output)")
        #expect(cli.entries(startingWith: "ck") == ["ck", "ck.saving-12", "ck.saving-notes"])
    }
}
