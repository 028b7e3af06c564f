import Foundation
import TesseraTopology

/// A pipeline timeline as a picture that teaches: a legend, a time axis, one
/// row per rank (F blue, B green, W orange, idle grey: the bubble), the bubble
/// figure in the caption, and under the rows the activations each rank holds
/// over time (why 1F1B exists). With `.pixelsPerUnit` every picture uses one
/// time scale, so a unit of work is equally wide in GPipe's and in 1F1B's.
public struct TimelineSVG {
    /// How time maps to pixels.
    public enum Scale: Sendable {
        /// Pixels per unit of cost (the simulator's costs: a stage's F = 1 by default).
        case pixelsPerUnit(Double)
        /// Seconds (a traced run), the step drawn 1000 pixels wide and labelled in milliseconds.
        case fit
        /// Seconds (a traced run) at this many pixels per second, labelled in milliseconds: traces drawn at one
        /// scale compare (`stacked`).
        case pixelsPerSecond(Double)
    }

    public var timeline: Timeline
    public var title: String
    /// Pipeline ranks when ranks hold several chunks (labels get a chunk letter, F3b); nil otherwise.
    public var ranksForChunkLabels: Int?
    public var scale: Scale

    static let colours: [PipelineAction.Kind: String] = [.forward: "#4e79a7", .backward: "#59a14f", .weight: "#f28e2b"]
    static let idle = "#e4e4e4", heldColour = "#b07aa1"

    public func render() -> String {
        let (c, width, height) = drawn()
        return c.render(width: width, height: height, font: "sans-serif", fontSize: 12)
    }

    /// Several traced timelines in one picture, one above the other, at one time scale (the longest step
    /// 1000 px wide), so a millisecond is equally wide in each and their steps compare at a glance.
    public static func stacked(_ timelines: [(timeline: Timeline, title: String, ranksForChunkLabels: Int?)]) -> String {
        let longest = max(timelines.map(\.timeline.stepTime).max() ?? 0, 1e-12)
        var page = SVGCanvas(marker: TimelineRenderer.marker)
        var y = 0.0, width = 0.0
        for t in timelines {
            let picture = TimelineSVG(timeline: t.timeline, title: t.title, ranksForChunkLabels: t.ranksForChunkLabels,
                                      scale: .pixelsPerSecond(1000 / longest))
            let (c, w, h) = picture.drawn()
            page.place(c, dy: y)
            y += h + 10
            width = max(width, w)
        }
        return page.render(width: width, height: y, font: "sans-serif", fontSize: 12)
    }

    /// The picture's elements and its width and height in pixels.
    func drawn() -> (SVGCanvas, Double, Double) {
        let t = timeline
        let origin = t.spans.map(\.start).min() ?? 0
        let step = max(t.stepTime, 1e-12)
        let seconds: Bool, px: Double
        switch scale {
        case .pixelsPerUnit(let p): px = p; seconds = false
        case .fit: px = 1000 / step; seconds = true
        case .pixelsPerSecond(let p): px = p; seconds = true
        }
        let left = 70.0, right = 130.0, rowH = 26.0
        let plotW = step * px
        let chunks = ranksForChunkLabels == nil ? 1 : TimelineRenderer.chunks(of: t)
        let residency = ActivationResidency(t, chunks: chunks)
        let split = t.spans.contains { $0.action.kind == .weight }
        var c = SVGCanvas(marker: TimelineRenderer.marker)

        // Title, caption with the bubble figure, legend.
        c.text(8, 18, title, size: 14, bold: true)
        let busy = t.busy.reduce(0, +) / Double(max(t.ranks, 1))
        let unit = seconds ? "ms" : "units"
        let f = seconds ? 1000.0 : 1.0
        c.text(8, 36, String(format: "step %.3g %@, busy %.3g %@ per rank: bubble (grey) %.1f%% of ranks × step; "
                             + "peak micro-batches held per rank: %@", step * f, unit, busy * f, unit,
                             100 * t.bubbleFraction, residency.peakMicroBatches.map(String.init).joined(separator: ", ")))
        var lx = 8.0
        var legend: [(String, String)] = [("#4e79a7", "F forward")]
        legend.append(("#59a14f", split ? "B backward (input gradient)" : "B backward (input + weight gradients)"))
        if split { legend.append(("#f28e2b", "W weight gradient")) }
        legend.append((Self.idle, "idle: the bubble"))
        for (colour, name) in legend {
            c.rect(lx, 46, 14, 12, fill: colour)
            c.text(lx + 18, 56, name)
            lx += 30 + Double(name.count) * 6.6
        }

        // Time axis above the rows, grid through them.
        let top = 86.0, rowsBottom = top + rowH * Double(t.ranks)
        let axis = NiceScale(lo: 0, hi: step * f, count: max(2, min(20, Int(plotW / 90))))
        for tick in axis.ticks where tick <= step * f * (1 + 1e-9) {
            let x = left + tick / f * px
            c.line(x, top - 6, x, rowsBottom, stroke: "#bbb", width: 0.6, dash: "2,3")
            c.text(x, top - 9, axis.label(tick), anchor: "middle", size: 10)
        }
        c.text(left + plotW + 8, top - 9, seconds ? "time (ms)" : "time (cost units)", size: 10)

        for r in 0..<t.ranks {
            let y = top + rowH * Double(r)
            c.text(8, y + 17, "rank \(r)")
            c.rect(left, y, plotW, rowH - 4, fill: Self.idle)
            for s in t.spans where s.rank == r {
                let x = left + (s.start - origin) * px, w = (s.end - s.start) * px
                let l = TimelineRenderer.label(s.action, ranks: ranksForChunkLabels)
                c.rect(x, y, w, rowH - 4, fill: Self.colours[s.action.kind] ?? "#999", stroke: "white",
                       title: "\(l) on stage \(s.action.stage)")
                // Labels of 9 px type need about 5.4 px a character: an interleaved chunk's F3b fits its 20 px.
                if w >= Double(l.count) * 5.4 + 1 { c.text(x + w / 2, y + 15, l, anchor: "middle", size: 9, colour: "white") }
            }
            let idle = (step - t.busy[r]) / step
            c.text(left + plotW + 8, y + 15, String(format: "idle %.0f%%", 100 * idle), size: 10)
        }

        // Activations held per rank over time, one band per rank, 12 px per stage-activation.
        let perUnit = 12.0
        let peak = max(residency.peakActivations.max() ?? 1, 1)
        let bandH = perUnit * peak.rounded(.up) + 8
        var y0 = rowsBottom + 34
        c.text(8, y0 - 12, "activations held (height: micro-batches × a stage's activations; 12 px each) — "
               + "what a schedule costs in memory", bold: true)
        for r in 0..<t.ranks {
            let base = y0 + bandH - 4
            c.text(8, base - 2, "rank \(r)")
            c.line(left, base, left + plotW, base, stroke: "#999", width: 0.6)
            var points: [(Double, Double)] = [(left, base)]
            var last = 0.0
            for level in residency.levels[r] {
                let x = left + (level.time - origin) * px
                points.append((x, base - last * perUnit)); points.append((x, base - level.activations * perUnit))
                last = level.activations
            }
            points.append((left + plotW, base - last * perUnit)); points.append((left + plotW, base))
            c.polyline(points, stroke: Self.heldColour, width: 1, fill: Self.heldColour)
            c.text(left + plotW + 8, base - 2, String(format: "peak %d mb (%.3g)", residency.peakMicroBatches[r],
                                                   residency.peakActivations[r]), size: 10)
            y0 += bandH + 4
        }
        return (c, max(left + plotW + right, 1000), y0 + 10)
    }
}
