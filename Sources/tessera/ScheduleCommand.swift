import ArgumentParser
import Foundation
import Tessera

struct ScheduleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule",
        abstract: "Draw a pipeline schedule's timeline and simulate its step time and bubble.",
        discussion: "Example: tessera schedule --pp 4 --micro-batches 8 --schedule zb-h1 --svg zb.svg\n\n"
            + settingsHelp(table, defaults: defaults))

    /// The layout settings a schedule takes, and their defaults here.
    static let table = Layout.table.only(["pp", "micro-batches", "schedule", "pp-chunks"])
    static var defaults: Layout { var l = Layout(); l.pp = 4; l.microBatches = 8; return l }

    @OptionGroup var settings: SettingArguments
    @Option(name: .customLong("cost-f"), parsing: .unconditional, help: "Cost of a stage's forward (an interleaved chunk costs 1/pp-chunks of it).") var costF: Double = 1
    @Option(name: .customLong("cost-b"), parsing: .unconditional, help: "Cost of a stage's input-gradient backward.") var costB: Double = 1
    @Option(name: .customLong("cost-w"), parsing: .unconditional, help: "Cost of a stage's weight-gradient backward.") var costW: Double = 1
    @Option(help: "Also write the timeline as SVG to this file (40 px per unit of cost in every schedule, so pictures compare).") var svg: String?
    @Flag(help: "With --svg: also write a PNG beside it (needs rsvg-convert: apt-get install librsvg2-bin).") var png = false
    @Option(name: .customLong("from-trace"), help: "Draw what a run recorded (tessera train --trace FILE) instead; repeat it to draw several traces in one SVG at one time scale.")
    var fromTrace: [String] = []
    /// The pipeline `validate()` read and checked.
    var layout: Layout?

    enum CodingKeys: CodingKey { case settings, costF, costB, costW, svg, png, fromTrace }

    mutating func validate() throws {
        layout = try reportingErrors {
            try SizeLimits.requireScheduleCosts([("--cost-f", costF), ("--cost-b", costB), ("--cost-w", costW)])
            let layout = try settings.given(Self.table).applied(to: Self.defaults)
            try layout.validateMesh()
            _ = try SizeLimits.product([("--pp", layout.pp), ("--micro-batches", layout.microBatches),
                                        ("--pp-chunks", layout.ppChunks)], times: 3,
                                       atMost: SizeLimits.scheduleActions, of: "schedule actions")
            try layout.validateSchedule()
            if let svg { try OutputFile.check(svg, what: "timeline", example: "schedule.svg", replaceable: TimelineRenderer.drewSVG) }
            if png && svg == nil { throw ConfigError("--png converts the --svg picture; add --svg FILE.svg") }
            if let svg, !svg.hasSuffix(".svg") { throw ConfigError("--svg names the picture to write and must end in .svg, got '\(svg)'") }
            if !fromTrace.isEmpty && !settings.words.isEmpty {
                throw ConfigError("--from-trace draws a recorded run; drop \(settings.words[0]) (the trace holds its own schedule)")
            }
            return layout
        }
    }

    func run() throws {
        let layout = layout!
        try reportingErrors {
            if !fromTrace.isEmpty {
                // Every file read and checked before anything is drawn or written.
                let traces = try fromTrace.map { path in (path, try PipelineTrace.read(path: path)) }
                for (path, t) in traces {
                    let chunks = TimelineRenderer.chunks(of: t), residency = ActivationResidency(t, chunks: chunks)
                    say("traced run: \(t.ranks) pipeline ranks, \(t.spans.count) actions (\(path))")
                    for line in TimelineRenderer.text(t, chunksOf: chunks > 1 ? t.ranks : nil, residency: residency) { say(line) }
                    say(String(format: "step time %.4f s, bubble %.1f%%", t.stepTime, 100 * t.bubbleFraction))
                    say(Self.residencyLine(residency))
                }
                if let svg {
                    try write(TimelineSVG.stacked(traces.map { path, t in
                        (t, "trace \(path)", TimelineRenderer.chunks(of: t) > 1 ? t.ranks : nil)
                    }), to: svg)
                    if traces.count > 1 { say("one time scale: the longest step is 1000 px wide in every row") }
                }
                return
            }
            let s = try PipelineSchedules.make(layout.schedule, ranks: layout.pp, microBatches: layout.microBatches,
                                               chunks: layout.ppChunks)
            let costs = ActionCosts(forward: costF, backward: costB, weight: costW)
            let t = try ScheduleSimulator.run(s, stageCosts: costs)
            let title = "\(s.name) pp=\(s.ranks) m=\(s.microBatches) v=\(s.chunks)"
            say(title + " (per stage F=\(costF) B=\(costB) W=\(costW)" + (s.splitBackward ? "" : "; B includes W")
                + (s.chunks > 1 ? "; a chunk costs 1/\(s.chunks) of each)" : ")"))
            let residency = ActivationResidency(t, chunks: s.chunks)
            for line in TimelineRenderer.text(t, chunksOf: s.chunks > 1 ? s.ranks : nil, residency: residency) { say(line) }
            say(String(format: "step time %.2f, bubble %.1f%% (idle %.2f per rank)", t.stepTime,
                       100 * t.bubbleFraction, t.bubbleTime))
            say(Self.residencyLine(residency))
            if let svg {
                try write(TimelineRenderer.svg(t, title: title, chunksOf: s.chunks > 1 ? s.ranks : nil,
                                               scale: .pixelsPerUnit(40)), to: svg)
            }
        }
    }

    /// "held at most (micro-batches in flight) per rank: 4, 3, 2, 1; activations …": what tells GPipe from 1F1B.
    static func residencyLine(_ r: ActivationResidency) -> String {
        "micro-batches in flight (activations held) at most, per rank: "
            + r.peakMicroBatches.map(String.init).joined(separator: ", ")
            + "; activation memory peak per rank (× one micro-batch's activations of a stage): "
            + r.peakActivations.map { String(format: "%.3g", $0) }.joined(separator: ", ")
    }

    /// Writes the SVG (and the PNG beside it with --png) and says so.
    func write(_ text: String, to svg: String) throws {
        try AtomicFile.write(text, to: svg)
        say("wrote \(svg)")
        if png {
            let file = PNGRenderer.pngPath(for: svg)
            try PNGRenderer.convert(svg: svg, png: file)
            say("wrote \(file)")
        }
    }
}
