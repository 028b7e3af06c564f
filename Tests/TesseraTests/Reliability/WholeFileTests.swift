import Foundation
import Testing
import Tessera

/// Issue 30: every file written whole or not at all, output paths checked
/// for what they are, inputs checked before they are read, settings that
/// would be ignored refused, logs without terminal codes.
@Suite struct WholeFileTests {
    @Test func anAtomicWriteReplacesWholeAndFollowsALink() throws {
        let dir = TestSupport.temporaryPath("atomic")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try AtomicFile.write("first", to: dir + "/f.txt")
        try AtomicFile.write("second, longer", to: dir + "/f.txt")
        #expect(try String(contentsOfFile: dir + "/f.txt", encoding: .utf8) == "second, longer")
        try FileManager.default.createSymbolicLink(atPath: dir + "/link", withDestinationPath: "f.txt")
        try AtomicFile.write("through the link", to: dir + "/link")
        #expect(FileCause.isSymbolicLink(dir + "/link"))
        #expect(try String(contentsOfFile: dir + "/f.txt", encoding: .utf8) == "through the link")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["f.txt", "link"])  // no temporary left
        let missing = TestSupport.message { try AtomicFile.write("x", to: dir + "/no/such/f.txt") }
        #expect(missing.contains("cannot write '\(dir)/no/such/f.txt'") && missing.contains("does not exist"), "\(missing)")
    }

    @Test func outputPathsAreRefusedWithTheirCauseInPlainWords() throws {
        let dir = TestSupport.temporaryPath("outputs")
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(mkfifo(dir + "/fifo", 0o644) == 0)
        FileManager.default.createFile(atPath: dir + "/file", contents: Data("x".utf8))
        let cases: [(String, String)] = [
            (dir + "/sub", "it is a directory"), (dir + "/fifo", "it is a FIFO (named pipe)"), ("/dev/null", "it is a device"),
            (dir + "/missing/x.svg", "does not exist"), (dir + "/file/x.svg", "is a regular file, not a directory"),
            ("", "give a file name"), (dir + "/file", "it exists and is not a plot Tessera wrote"),
        ]
        for (path, cause) in cases {
            let m = TestSupport.message { try OutputFile.check(path, what: "plot", example: "p.svg") { _ in false } }
            #expect(m.hasPrefix("cannot write plot '\(path)': ") && m.contains(cause), "\(path): \(m)")
        }
        try OutputFile.check(dir + "/new.svg", what: "plot", example: "p.svg")
        let same = TestSupport.message { try OutputFile.requireDistinct([("--trace", "a/t.json"), ("--metrics", "a/./t.json")]) }
        #expect(same.contains("--trace and --metrics name the same file"), "\(same)")
    }

    @Test func inputsThatAreNotRegularFilesAreRefusedWithoutReading() throws {
        let dir = TestSupport.temporaryPath("inputs")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(mkfifo(dir + "/fifo", 0o644) == 0)
        let fifo = TestSupport.message { _ = try InputFile.contents(dir + "/fifo", what: "trace file") }
        #expect(fifo == "trace file '\(dir)/fifo' is a FIFO (named pipe), not a regular file", "\(fifo)")
        let missing = TestSupport.message { _ = try ConfigFile.read(dir + "/none.toml") }
        #expect(missing == "config file '\(dir)/none.toml': it does not exist", "\(missing)")
    }

    @Test func jsonKeysDecodeTheirEscapes() throws {
        let path = TestSupport.temporaryPath("escaped.json")
        try #"{"\u0064p": 2, "train": {"st\u0065ps": 7}, "se\"ed": 1}"#.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let keys = TestSupport.message { _ = try ConfigFile.read(path) }
        #expect(keys.isEmpty, "\(keys)")
        let entries = try ConfigFile.read(path)
        #expect(entries.map(\.key) == ["dp", "steps", "se\"ed"])
    }

    @Test func aSettingTheConfigurationIgnoresIsRefusedNamingWhatItNeeds() throws {
        func given(_ words: [String]) throws -> GivenSettings<TrainConfig> {
            try GivenSettings(configFile: nil, words: words, table: TrainConfig.table)
        }
        for (words, needs) in [(["--checkpoint-every", "5"], "--checkpoint DIR"), (["--top-k", "2"], "--experts E"),
                               (["--cp-mode", "ulysses"], "--cp N"), (["--moe-stats", "s.csv"], "--experts E")] {
            let g = try given(words)
            let m = TestSupport.message { try g.requireMeaningful(try g.applied(to: TrainConfig()), TrainConfig.requirements) }
            #expect(m.contains("\(words[0].dropFirst(2)) has no effect without \(needs)"), "\(m)")
        }
        let fine = try given(["--experts", "4", "--top-k", "2", "--checkpoint", "ck", "--checkpoint-every", "5"])
        try fine.requireMeaningful(try fine.applied(to: TrainConfig()), TrainConfig.requirements)
    }

    @Test func aNumberThatRoundsOutOfRangeInFloat32SaysSo() throws {
        let m = TestSupport.message { _ = try GivenSettings(configFile: nil, words: ["--dropout", "0.99999999"],
                                                             table: TrainConfig.table).applied(to: TrainConfig()) }
        #expect(m.contains("dropout must be a number in [0, 1), got 0.99999999 (stored as float32, 0.99999999 rounds to 1.0)"), "\(m)")
    }

    @Test func progressRedrawsOnlyOnATerminalOutsideMPI() {
        #expect(LiveTerminal.decide(stdoutIsTTY: true, stderrIsTTY: true, environment: [:]))
        #expect(!LiveTerminal.decide(stdoutIsTTY: true, stderrIsTTY: false, environment: [:]))
        #expect(!LiveTerminal.decide(stdoutIsTTY: false, stderrIsTTY: true, environment: [:]))
        #expect(!LiveTerminal.decide(stdoutIsTTY: true, stderrIsTTY: true, environment: ["OMPI_COMM_WORLD_SIZE": "2"]))
        #expect(!LiveTerminal.decide(stdoutIsTTY: true, stderrIsTTY: true, environment: ["TERM": "dumb"]))
    }

    @Test func scheduleCostsAndTimelineWidthAreBounded() throws {
        for bad in [0, -1, 1e-30, 1e20, 1e308, .nan, .infinity] {
            let m = TestSupport.message { try SizeLimits.requireScheduleCosts([("--cost-f", bad)]) }
            #expect(m.hasPrefix("--cost-f must be a number in 0.001...1000000"), "\(bad): \(m)")
        }
        try SizeLimits.requireScheduleCosts([("--cost-f", 1e6), ("--cost-b", 1e-3)])
        let s = try PipelineSchedules.make(.oneFOneB, ranks: 4, microBatches: 8, chunks: 1)
        let t = try ScheduleSimulator.run(s, stageCosts: ActionCosts(forward: 1e6, backward: 1e-3, weight: 1e-3))
        let rows = TimelineRenderer.text(t)
        #expect(rows.count == 4 && rows.allSatisfy { $0.count < 20 * TimelineRenderer.maxTextCells }, "\(rows.map(\.count))")
    }
}
