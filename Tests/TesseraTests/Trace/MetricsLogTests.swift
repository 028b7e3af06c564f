import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Synchronization
import Testing
import Tessera

/// The metrics log, its plot and the progress display.
@Suite struct MetricsLogTests {
    @Test func aLoggedRunWritesOneLinePerLoggedStepWithEveryFigure() throws {
        Compute.threads = 1
        var c = Equivalence.defaultConfig
        c.dp = 2; c.steps = 4; c.logEvery = 2; c.evalEvery = 2; c.evalBatches = 1
        let metrics = TestSupport.temporaryPath("m.jsonl"), trace = TestSupport.temporaryPath("t.json")
        defer { for p in [metrics, trace] { try? FileManager.default.removeItem(atPath: p) } }
        c.metrics = metrics; c.trace = trace
        let run = c, data = try TokenDataset.builtIn(seqLen: c.model.seqLen), losses = Mutex<[Double]>([])
        try Launcher.run(config: run, backend: .threads) { groups in
            let results = try Trainer(config: run, data: data, groups: groups).run(log: { _ in })
            if groups.worldRank == 0 { losses.withLock { $0 = results.map(\.loss) } }
        }
        let lines = try MetricsLog.read(path: metrics)
        // Logged: the first step, every 2nd, the last.
        #expect(lines.map(\.step) == [1, 2, 4])
        #expect(lines.map(\.loss) == [0, 1, 3].map { losses.withLock { $0 }[$0] })
        // Step 2 validates (--eval-every 2); step 4 holds the final validation train prints after the run.
        #expect(lines.map { $0.val_loss != nil } == [false, true, true])
        for m in lines {
            #expect(m.memory_bytes?.count == 2 && m.memory_bytes!.allSatisfy { $0 > 0 })
            #expect(m.tokens_per_s > 0 && m.gflops > 0 && (m.mfu ?? 0) > 0 && m.lr > 0 && m.grad_norm > 0)
            #expect((m.comm_exposed_s ?? -1) >= 0 && (m.comm_bytes ?? 0) > 0, "traced: rank 0's communication")
        }
        // A log Tessera wrote may be replaced; anything else is refused.
        try MetricsLog.check(metrics)
        let other = TestSupport.temporaryPath("notes.txt")
        defer { try? FileManager.default.removeItem(atPath: other) }
        try Data("keep me\n".utf8).write(to: URL(fileURLWithPath: other))
        #expect(TestSupport.message { try MetricsLog.check(other) }.contains("not a metrics log Tessera wrote"))
    }

    @Test func thePlotDrawsEveryRunAndEveryValidationPoint() throws {
        func step(_ s: Int, _ loss: Double, _ val: Double? = nil) -> StepMetrics {
            StepMetrics(step: s, loss: loss, val_loss: val, lr: 1e-3, grad_norm: 1, step_seconds: 0.1, tokens_per_s: 1000 + Double(s),
                        gflops: 1, mfu: 0.1, elapsed_s: Double(s))
        }
        let svg = MetricsPlot.svg([("fp32 & <a>", [step(1, 5), step(2, 4, 4.5), step(3, 3)]),
                                   ("bf16", [step(1, 5.1), step(2, 4.2, 4.6)])])
        #expect(svg.components(separatedBy: "<polyline").count - 1 == 4)  // loss and tokens/s per run
        // The first run's validation point: a circle of radius 5 (the second run's is a square).
        #expect(svg.components(separatedBy: "r=\"5.0\"").count - 1 == 1)
        #expect(svg.contains("fp32 &amp; &lt;a&gt;") && svg.contains(MetricsPlot.marker))
        let parser = XMLParser(data: Data(svg.utf8))
        #expect(parser.parse(), "well-formed SVG")
    }

    @Test func progressIsOneLivelineOnATerminalAndPlainLinesElsewhere() {
        let printed = Mutex<[String]>([])
        let plain = ProgressDisplay(quiet: false, live: false) { line in printed.withLock { $0.append(line) } }
        plain.progress("step 1", logged: true)
        plain.progress("step 2", logged: false)
        plain.line("validation")
        #expect(printed.withLock { $0 } == ["step 1", "validation"])
        let quiet = ProgressDisplay(quiet: true, live: true) { line in printed.withLock { $0.append(line) } }
        quiet.progress("step 3", logged: true)
        #expect(!quiet.live && printed.withLock { $0 }.count == 2)
    }
}

/// The growing file behind the metrics log and the expert statistics.
@Suite struct GrowingFileTests {
    @Test func anEarlierFileStaysUntilThePublishAndLaterLinesFollowIt() throws {
        let path = TestSupport.temporaryPath("g.jsonl")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data("earlier\n".utf8).write(to: URL(fileURLWithPath: path))
        let dir = (path as NSString).deletingLastPathComponent, name = (path as NSString).lastPathComponent
        func temporaries() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".\(name).tessera-tmp-") }
        }
        do {
            let file = try GrowingFile(path: path, header: "h\n")
            file.append("a\n")
            #expect(try String(contentsOfFile: path, encoding: .utf8) == "earlier\n", "not replaced before the publish")
            #expect(try temporaries().count == 1)
            #expect(file.publish())
            #expect(try String(contentsOfFile: path, encoding: .utf8) == "h\na\n")
            file.append("b\n")
            #expect(try String(contentsOfFile: path, encoding: .utf8) == "h\na\nb\n", "appends land in the published file")
            file.append("c\n")
        }
        // Released: published again with every line, and no temporary left.
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "h\na\nb\nc\n")
        #expect(try temporaries().isEmpty)
    }
}
