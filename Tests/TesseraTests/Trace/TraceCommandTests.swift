import Foundation
import Testing

/// The trace, plot and explain commands end to end, and their one-line errors.
@Suite struct TraceCommandTests {
    @Test func aTracedRunIsSummarizedPlottedAndBadFilesAreRefusedByName() throws {
        let cli = TesseraCLI()
        defer { cli.cleanUp() }
        let train = try cli.run(["train", "--steps", "2", "--tp", "2", "--trace", "t.json", "--metrics", "m.jsonl"] + TesseraCLI.tiny)
        #expect(train.status == 0 && train.output.contains("wrote trace t.json: 2 rank(s)"), "\(train.output)")
        let summary = try cli.run(["trace", "summary", "t.json"])
        #expect(summary.status == 0 && summary.output.contains("tp[0, 1] | allReduce | 2 | "), "\(summary.output)")
        let plot = try cli.run(["plot", "m.jsonl", "m.jsonl", "--svg", "p.svg"])
        #expect(plot.status == 0 && FileManager.default.contents(atPath: cli.path("p.svg")) != nil, "\(plot.output)")
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: cli.path("notes.txt")))
        for (args, expected) in [(["trace", "summary", "notes.txt"], "is not a Tessera trace"),
                                 (["trace", "summary", "none.json"], "does not exist"),
                                 (["plot", "notes.txt", "--svg", "q.svg"], "line 1 is not a step's metrics"),
                                 (["plot", "m.jsonl", "--svg", "notes.txt"], "must end in .svg"),
                                 (["schedule", "--from-trace", "t.json"], "holds no pipeline actions"),
                                 (["train", "--steps", "1", "--metrics", "notes.txt"] + TesseraCLI.tiny,
                                  "not a metrics log Tessera wrote"),
                                 (["explain", "ep", "--ranks", "3"], "explain ep runs on 2 or 4 ranks, got 3"),
                                 (["explain", "xp"], "unknown strategy 'xp' for explain; valid: tp, sp, dp, pp")] {
            let r = try cli.run(args)
            #expect(r.status == 2 && r.output.contains(expected) && r.output.split(separator: "\n").count == 1,
                    "\(args): \(r.output)")
        }
        #expect(FileManager.default.contents(atPath: cli.path("notes.txt")) == Data("keep me".utf8))
    }
}
