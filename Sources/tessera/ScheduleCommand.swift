import ArgumentParser
import Foundation
import Tessera

struct ScheduleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule",
        abstract: "Draw a pipeline schedule's timeline and simulate its step time and bubble.",
        discussion: "Example: tessera schedule --pp 4 --microbatches 8 --schedule zb-h1 --svg zb.svg")

    @Option(help: "Pipeline ranks.") var pp = 4
    @Option(help: "Micro-batches per step.") var microbatches = 8
    @Option(help: "naive, gpipe, 1f1b, interleaved or zb-h1.") var schedule = "1f1b"
    @Option(help: "Virtual stages per rank (interleaved).") var chunks = 1
    @Option(name: .customLong("cost-f"), help: "Cost of a forward.") var costF: Double = 1
    @Option(name: .customLong("cost-b"), help: "Cost of an input-gradient backward.") var costB: Double = 1
    @Option(name: .customLong("cost-w"), help: "Cost of a weight-gradient backward.") var costW: Double = 1
    @Option(help: "Also write the timeline as SVG to this file.") var svg: String?
    @Option(name: .customLong("from-trace"), help: "Draw what a run recorded (tessera train --trace FILE) instead.")
    var fromTrace: String?

    func run() throws {
        try reportingErrors {
            if let fromTrace {
                let t = try PipelineTrace.read(path: fromTrace)
                say("traced run: \(t.ranks) pipeline ranks, \(t.spans.count) actions (\(fromTrace))")
                for line in TimelineRenderer.text(t) { say(line) }
                say(String(format: "step time %.4f s, bubble %.1f%%", t.stepTime, 100 * t.bubbleFraction))
                if let svg {
                    try TimelineRenderer.svg(t, title: "trace \(fromTrace)").write(toFile: svg, atomically: true, encoding: .utf8)
                    say("wrote \(svg)")
                }
                return
            }
            _ = try SizeLimits.product([("--pp", pp), ("--microbatches", microbatches), ("--chunks", chunks)], times: 3,
                                       atMost: SizeLimits.scheduleActions, of: "schedule actions")
            guard [costF, costB, costW].allSatisfy({ $0 > 0 && $0.isFinite }) else {
                throw ConfigError("--cost-f, --cost-b and --cost-w must be positive numbers")
            }
            let s = try PipelineSchedules.make(schedule, ranks: pp, microBatches: microbatches, chunks: chunks)
            let costs = ActionCosts(forward: costF, backward: costB, weight: costW)
            let t = try ScheduleSimulator.run(s, costs: costs)
            let title = "\(s.name) pp=\(s.ranks) m=\(s.microBatches)" + (s.chunks > 1 ? " chunks=\(s.chunks)" : "")
            say(title + " (F=\(costF) B=\(costB) W=\(costW)" + (s.splitBackward ? ")" : "; B includes W)"))
            for line in TimelineRenderer.text(t, chunksOf: s.chunks > 1 ? s.ranks : nil) { say(line) }
            say(String(format: "step time %.2f, bubble %.1f%% (idle %.2f per rank)", t.stepTime,
                       100 * t.bubbleFraction, t.bubbleTime))
            if let svg {
                try TimelineRenderer.svg(t, title: title, chunksOf: s.chunks > 1 ? s.ranks : nil).write(toFile: svg, atomically: true, encoding: .utf8)
                say("wrote \(svg)")
            }
        }
    }
}
