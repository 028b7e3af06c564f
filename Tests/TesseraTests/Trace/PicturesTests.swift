import Foundation
import Testing
import Tessera

/// What the pictures teach: round axis ticks, the micro-batches each pipeline
/// rank holds (GPipe all m, 1F1B at most p − rank), one time scale across
/// schedules, plots that tell identical runs apart, and a traced step's
/// compute/communication overlap.
@Suite struct PicturesTests {
    @Test func ticksAreRoundNumbers() {
        let s = NiceScale(lo: 0, hi: 20774, count: 5)
        #expect(s.step == 5000 && s.lo == 0 && s.hi == 25000)
        #expect(s.ticks.map { s.label($0) } == ["0", "5000", "10000", "15000", "20000", "25000"])
        let loss = NiceScale(lo: 3.27, hi: 5.61, count: 5)
        #expect(loss.step == 0.5 && loss.lo == 3.0 && loss.hi == 6.0)
        #expect(loss.label(3.5) == "3.5")
        let flat = NiceScale(lo: 2, hi: 2)
        #expect(flat.lo < 2 && flat.hi > 2)
    }

    @Test func gpipeHoldsEveryMicroBatchAndOneFOneBAtMostTheStagesLeft() throws {
        let gpipe = try ScheduleSimulator.run(PipelineSchedules.make(.gpipe, ranks: 4, microBatches: 8), stageCosts: ActionCosts())
        let oneF = try ScheduleSimulator.run(PipelineSchedules.make(.oneFOneB, ranks: 4, microBatches: 8), stageCosts: ActionCosts())
        #expect(ActivationResidency(gpipe).peakMicroBatches == [8, 8, 8, 8])
        #expect(ActivationResidency(oneF).peakMicroBatches == [4, 3, 2, 1])
        // Interleaved: each chunk holds half a stage's activations.
        let inter = try ScheduleSimulator.run(PipelineSchedules.make(.interleaved, ranks: 2, microBatches: 4, chunks: 2),
                                              stageCosts: ActionCosts())
        let r = ActivationResidency(inter, chunks: 2)
        #expect(r.peakActivations.allSatisfy { $0 > 0 && $0 <= 4 }, "\(r.peakActivations)")
        // Everything is released by the end of the step.
        #expect(r.levels.allSatisfy { $0.last?.activations == 0 && $0.last?.microBatches == 0 })
    }

    @Test func oneTimeScaleMakesAUnitOfWorkEquallyWideInEverySchedule() throws {
        func firstForwardWidth(_ kind: PipelineScheduleKind) throws -> String {
            let t = try ScheduleSimulator.run(PipelineSchedules.make(kind, ranks: 4, microBatches: 8), stageCosts: ActionCosts())
            let svg = TimelineRenderer.svg(t, title: kind.rawValue, scale: .pixelsPerUnit(40))
            // The first F0 rectangle of rank 0.
            let rect = svg.split(separator: "\n").first { $0.contains("<title>F0 on stage 0</title>") }!
            return String(rect.split(separator: " ").first { $0.hasPrefix("width=") }!)
        }
        #expect(try firstForwardWidth(.gpipe) == "width=\"40.0\"")
        #expect(try firstForwardWidth(.oneFOneB) == "width=\"40.0\"")
        #expect(try firstForwardWidth(.zeroBubbleH1) == "width=\"40.0\"")
    }

    @Test func tracesDrawnTogetherShareOneTimeScale() throws {
        // Two traced steps, 1 s and 0.25 s long, each opening with a 0.1 s F0 on rank 0.
        func traced(_ step: Double) -> Timeline {
            Timeline(ranks: 2, spans: [TimedAction(rank: 0, action: PipelineAction(.forward, microBatch: 0, stage: 0), start: 5, end: 5.1),
                                       TimedAction(rank: 1, action: PipelineAction(.forward, microBatch: 0, stage: 1), start: 5.1, end: 5 + step)])
        }
        let svg = TimelineSVG.stacked([(traced(1), "long", nil), (traced(0.25), "short", nil)])
        let widths = svg.split(separator: "\n").filter { $0.contains("<title>F0 on stage 0</title>") }
            .map { String($0.split(separator: " ").first { $0.hasPrefix("width=") }!) }
        // The longest step is 1000 px: 0.1 s is 100 px in both rows (the short trace alone would draw it 400 px).
        #expect(widths == ["width=\"100.0\"", "width=\"100.0\""], "\(widths)")
        #expect(svg.hasPrefix("<svg") && svg.contains(TimelineRenderer.marker) && svg.contains("translate(0 "))
        #expect(svg.components(separatedBy: "<svg").count == 2, "one document, the rows placed in it")
    }

    @Test func identicalRunsAreNamedAndDrawnApart() {
        let a = (1...5).map { StepMetrics(step: $0, loss: 5 - Double($0) * 0.3, lr: 1e-3, grad_norm: 1, step_seconds: 1,
                                          tokens_per_s: 1000, gflops: 1, elapsed_s: Double($0)) }
        var b = a
        b[4].loss += 0.01
        let runs = [(name: "fp32", steps: a), (name: "dp2", steps: a), (name: "bf16", steps: b)]
        #expect(MetricsPlot.identicalRuns(runs) == [[0, 1]])
        #expect(MetricsPlot.identicalNote(runs)?.hasPrefix("fp32 and dp2: identical training losses") == true)
        let svg = MetricsPlot.svg(runs)
        #expect(svg.contains("stroke-dasharray=\"8,4\""))   // the second run is dashed
        #expect(svg.contains("note: fp32 and dp2"))
        #expect(svg.contains(">step<") && svg.contains("loss (nats/token)") && svg.contains("tokens/s"))
    }

    @Test func aTracedStepsOverlapIsTheIntersectionOfComputeAndCommunication() throws {
        // Rank 0: step 0–100 µs; backward 10–60; an all-reduce 40–80 on the comm thread; a wait 60–70.
        let json = """
            {"traceEvents": [
              {"name": "step 1", "cat": "step", "ph": "X", "ts": 0, "dur": 100, "pid": 0, "tid": 0, "args": {"step": 0}},
              {"name": "block backward", "cat": "region", "ph": "X", "ts": 10, "dur": 50, "pid": 0, "tid": 0},
              {"name": "attention backward", "cat": "region", "ph": "X", "ts": 12, "dur": 20, "pid": 0, "tid": 0},
              {"name": "allReduce dp[0, 1]", "cat": "comm", "ph": "X", "ts": 40, "dur": 40, "pid": 0, "tid": 1, "args": {"op": "allReduce"}},
              {"name": "allReduce", "cat": "wait", "ph": "X", "ts": 60, "dur": 10, "pid": 0, "tid": 0}],
             "displayTimeUnit": "ms",
             "otherData": {"format": "tessera-trace/1", "layout": "dp2", "ranks": [{"rank": 0, "dp": 0, "pp": 0, "tp": 0}],
                           "dropped": 0, "clock": "one clock"}}
            """
        let trace = try JSONDecoder().decode(ChromeTrace.self, from: Data(json.utf8))
        let d = try TraceDrawing(trace, path: "t.json")
        let f = d.figures[0]
        #expect(abs(f.computeMs - 0.050) < 1e-9 && abs(f.commMs - 0.040) < 1e-9)
        #expect(abs(f.overlapMs - 0.020) < 1e-9 && abs(f.waitMs - 0.010) < 1e-9)
        #expect(d.svg(title: "t").contains("allReduce dp[0, 1]"))
        #expect(TestSupport.message { _ = try TraceDrawing(trace, step: 4, path: "t.json") }
                    == "trace file 't.json' has no step 4; it traced steps 1")
    }
}
