import Foundation
import Testing
import Tessera

/// Issue 11, item 6: every output path is checked before the first step, and
/// a write that fails mid-run keeps the training going and the previous
/// checkpoint, reported in one line.
@Suite(.enabled(if: TesseraCLI.available, "needs a release build of tessera"))
struct OutputPathTests {
    @Test(arguments: [("/proc/x", "/proc/x"), ("", "checkpoint must be a non-empty path"), (".", "names a directory that holds other things"),
                      ("/", "names a directory"), ("missing/ck", "parent directory 'missing' does not exist")])
    func unwritableCheckpointPathsAreRefusedBeforeTheFirstStep(path: String, expected: String) throws {
        let cli = TesseraCLI()
        defer { cli.cleanUp() }
        let r = try cli.run(["train", "--steps", "2", "--checkpoint", path] + TesseraCLI.tiny)
        #expect(r.status == 2 && r.output.contains(expected) && !r.output.contains("step 1/"), "\(r.output)")
        #expect(r.output.split(separator: "\n").count == 1, "\(r.output)")
    }

    /// One-character relative paths (which trap in Foundation's NSString path functions on Linux) work for every output.
    @Test func oneCharacterOutputPathsWork() throws {
        let cli = TesseraCLI()
        defer { cli.cleanUp() }
        let r = try cli.run(["train", "--steps", "2", "--checkpoint", "a", "--trace", "b", "--metrics", "c"] + TesseraCLI.tiny)
        #expect(r.status == 0 && r.output.contains("wrote trace b"), "\(r.output)")
        #expect(try Checkpoint.load(from: cli.path("a")).step == 2)
        #expect(try MetricsLog.read(path: cli.path("c")).count >= 1)
        let plot = try cli.run(["plot", "c", "--svg", "d.svg"])
        #expect(plot.status == 0 && FileManager.default.fileExists(atPath: cli.path("d.svg")), "\(plot.output)")
        #expect(try cli.run(["train", "--resume", "a", "--steps", "3", "--checkpoint", "a"] + TesseraCLI.tiny).status == 0)
        #expect(try Checkpoint.load(from: cli.path("a")).step == 3)
    }

    @Test func pathPartsSplitWithoutFoundation() {
        let table: [(String, String, String, String)] = [
            ("a", ".", "a", ""), ("a.json", ".", "a.json", "json"), ("runs/ck/", "runs", "ck", ""), ("/x", "/", "x", ""),
            ("/", "/", "", ""), ("r//t.d/x", "r//t.d", "x", ""), ("./.hidden", ".", ".hidden", ""), ("", ".", "", ""),
        ]
        for (path, directory, name, ext) in table {
            let parts = FilePathParts(path)
            #expect(parts.directory == directory && parts.name == name && parts.pathExtension == ext, "\(path): \(parts)")
        }
        #expect(FilePathParts.deletingExtension("runs/t.json") == "runs/t" && FilePathParts.deletingExtension("a") == "a")
    }

    @Test func aFileSystemWithoutRoomForOneCheckpointIsRefused() throws {
        let exabyte = 1_152_921_504_606_846_976.0
        let m = TestSupport.message { try OutputPreflight.requireRoom(exabyte, in: NSTemporaryDirectory(), for: "checkpoint 'ck'") }
        #expect(m.contains("cannot write checkpoint 'ck': it needs about 1.00 EiB and the file system of") && m.contains("free"), "\(m)")
        #expect(throws: Never.self) { try OutputPreflight.requireRoom(1, in: NSTemporaryDirectory(), for: "x") }
        var config = TrainConfig()
        config.model.layers = 2
        #expect(OutputPreflight.checkpointBytes(config) == Double(12 * config.model.parameterCount + 1_048_576))
    }

    @Test func aTrailingSlashNamesTheSameDirectory() throws {
        let cli = TesseraCLI()
        defer { cli.cleanUp() }
        let r = try cli.run(["train", "--steps", "2", "--checkpoint", "ck/"] + TesseraCLI.tiny)
        #expect(r.status == 0, "\(r.output)")
        #expect(try Checkpoint.load(from: cli.path("ck")).step == 2)
        #expect(cli.entries(startingWith: "ck") == ["ck"])
    }

    @Test func badTracePathsAreRefusedBeforeTheFirstStep() throws {
        let cli = TesseraCLI()
        defer { cli.cleanUp() }
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: cli.path("notes.txt")))
        try FileManager.default.createDirectory(atPath: cli.path("adir"), withIntermediateDirectories: false)
        var pipeline = TesseraCLI.tiny + ["--pp", "2", "--micro-batches", "2"]
        pipeline[pipeline.firstIndex(of: "--layers")! + 1] = "2"  // one block per stage
        for (trace, expected) in [("missing/t.txt", "the directory 'missing' does not exist"), ("adir", "it is a directory"),
                                  ("notes.txt", "not a trace Tessera wrote"), ("/proc/t.txt", "takes no new files")] {
            let r = try cli.run(["train", "--steps", "2", "--trace", trace] + pipeline)
            #expect(r.status == 2 && r.output.contains("trace '\(trace)'") && r.output.contains(expected)
                    && !r.output.contains("step 1/"), "\(trace): \(r.output)")
        }
        #expect(FileManager.default.contents(atPath: cli.path("notes.txt")) == Data("keep me".utf8))
        let ok = try cli.run(["train", "--steps", "2", "--trace", "t.json"] + pipeline)
        #expect(ok.status == 0 && ok.output.contains("wrote trace t.json: 2 rank(s)"), "\(ok.output)")
        // A trace Tessera wrote may be replaced by the next run.
        #expect(try cli.run(["train", "--steps", "1", "--trace", "t.json"] + pipeline).status == 0)
    }

    @Test func aFullDiskMidRunKeepsTrainingAndThePreviousCheckpoint() throws {
        let cli = TesseraCLI()
        defer { cli.cleanUp() }
        #expect(try cli.run(["train", "--steps", "2", "--checkpoint", "ck"] + TesseraCLI.tiny).status == 0)
        let before = cli.snapshot("ck")
        let r = try cli.run(["train", "--resume", "ck", "--steps", "6", "--checkpoint-every", "2"] + TesseraCLI.tiny,
                            environment: ["TESSERA_FAULT": "full-disk:optimizer.safetensors"])
        let warnings = r.output.split(separator: "\n").filter { $0.contains("warning: could not save checkpoint ck") }
        #expect(warnings.count == 1 && warnings[0].contains("No space left on device")
                && warnings[0].contains("training goes on"), "\(r.output)")
        #expect(r.output.contains("step 6/6"), "training stopped at the failed save: \(r.output)")
        #expect(r.status == 2 && r.output.contains("tessera: error: could not save checkpoint ck at step 6")
                && r.output.contains("the previous checkpoint is kept") && !r.output.contains("NSCocoaErrorDomain"),
                "\(r.output)")
        #expect(cli.snapshot("ck") == before)
        #expect(cli.entries(startingWith: "ck") == ["ck"], "\(cli.entries(startingWith: "ck"))")
    }
}
