import Foundation
import TesseraRuntime

/// Metrics logs drawn as one SVG: training loss (lines) and validation loss
/// (markers) against step in the upper panel, tokens/s in the lower, one
/// colour, dash pattern and marker shape per run with a legend, so runs
/// overlay (fp32 vs bf16, one rank vs a layout) and stay distinguishable even
/// where they coincide; axes have round ticks and units, and runs whose
/// losses are identical are named in a note.
public enum MetricsPlot {
    /// A comment every plot carries, so a later run may replace the file.
    public static let marker = "<!-- tessera plot -->"
    static let colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]
    static let dashes: [String?] = [nil, "8,4", "2,3", "10,3,2,3", "4,4", "12,6"]
    static let shapes = ["circle", "square", "triangle", "diamond", "cross"]

    /// Groups of runs (by index) whose logged steps and training losses are identical.
    public static func identicalRuns(_ runs: [(name: String, steps: [StepMetrics])]) -> [[Int]] {
        var groups: [[Int]] = []
        for i in runs.indices {
            let key = runs[i].steps.map { [Double($0.step), $0.loss] }
            if let g = groups.firstIndex(where: { runs[$0[0]].steps.map { [Double($0.step), $0.loss] } == key }) {
                groups[g].append(i)
            } else {
                groups.append([i])
            }
        }
        return groups.filter { $0.count > 1 }
    }

    /// The note on identical runs ("a and b: identical losses, their curves coincide"), nil when none.
    public static func identicalNote(_ runs: [(name: String, steps: [StepMetrics])]) -> String? {
        let groups = identicalRuns(runs)
        guard !groups.isEmpty else { return nil }
        return groups.map { $0.map { runs[$0].name }.joined(separator: " and ") }.joined(separator: "; ")
            + ": identical training losses at every logged step, so their loss curves coincide (told apart by dashes and markers)"
    }

    /// The SVG text of `runs` (name, logged steps).
    public static func svg(_ runs: [(name: String, steps: [StepMetrics])]) -> String {
        let width = 800.0, panel = 250.0, left = 80.0, right = 24.0, top = 46.0, gap = 80.0
        let all = runs.flatMap(\.steps)
        let xs = NiceScale(lo: Double(all.map(\.step).min() ?? 0), hi: Double(all.map(\.step).max() ?? 1), count: 8)
        let losses = all.map(\.loss) + all.compactMap(\.val_loss)
        let lossScale = NiceScale(lo: losses.min() ?? 0, hi: losses.max() ?? 1, count: 5)
        let speedScale = NiceScale(lo: 0, hi: all.map(\.tokens_per_s).max() ?? 1, count: 5)
        let plotW = width - left - right
        func x(_ step: Int) -> Double { xs.position(Double(step), from: left, to: left + plotW) }
        let note = identicalNote(runs)
        let legendRows = Double((runs.count + 2) / 3)
        var c = SVGCanvas(marker: marker)
        let panels: [(String, String, NiceScale, Double)] = [
            ("Loss (lines: training; markers: validation)", "loss (nats/token)", lossScale, top),
            ("Throughput", "tokens/s", speedScale, top + panel + gap)]
        for (title, unit, scale, y0) in panels {
            c.text(left, y0 - 12, title, bold: true)
            c.rect(left, y0, plotW, panel, fill: "none", stroke: "#888")
            for v in scale.ticks {
                let yy = scale.position(v, from: y0 + panel, to: y0)
                c.line(left, yy, left + plotW, yy, stroke: "#e6e6e6", width: 1)
                c.text(left - 6, yy + 4, scale.label(v), anchor: "end", size: 11)
            }
            for v in xs.ticks {
                let xx = x(Int(v.rounded()))
                c.line(xx, y0 + panel, xx, y0 + panel + 5, stroke: "#888")
                c.text(xx, y0 + panel + 18, xs.label(v), anchor: "middle", size: 11)
            }
            c.text(left + plotW / 2, y0 + panel + 34, "step", anchor: "middle")
            c.text(18, y0 + panel / 2, unit, anchor: "middle", rotate: true)
        }
        for (i, run) in runs.enumerated() {
            let colour = colours[i % colours.count], dash = dashes[i % dashes.count], shape = shapes[i % shapes.count]
            // Later runs drawn thinner on top, so a run hidden under an identical one still shows through its dashes.
            let w = max(1.2, 2.6 - 0.5 * Double(i))
            let lossPoints = run.steps.map { (x($0.step), lossScale.position($0.loss, from: top + panel, to: top)) }
            c.polyline(lossPoints, stroke: colour, width: w, dash: dash)
            // Markers on a few training points, offset per run along the curve so coinciding runs show each marker.
            let every = max(1, run.steps.count / 8)
            for (k, p) in lossPoints.enumerated() where (k + i * max(1, every / max(runs.count, 1))) % every == 0 {
                c.symbol(shape, p.0, p.1, size: 3, colour: colour)
            }
            for s in run.steps { if let v = s.val_loss {
                c.symbol(shape, x(s.step), lossScale.position(v, from: top + panel, to: top), size: 5, colour: colour)
            } }
            let y1 = top + panel + gap
            c.polyline(run.steps.map { (x($0.step), speedScale.position($0.tokens_per_s, from: y1 + panel, to: y1)) },
                       stroke: colour, width: w, dash: dash)
            let ly = top + 2 * panel + gap + 58 + Double(i / 3) * 18, lx = left + Double(i % 3) * 240
            c.line(lx, ly - 4, lx + 30, ly - 4, stroke: colour, width: 2, dash: dash)
            c.symbol(shape, lx + 15, ly - 4, size: 3.5, colour: colour)
            c.text(lx + 36, ly, run.name)
        }
        var height = top + 2 * panel + gap + 58 + 18 * legendRows
        if let note {
            // Wrapped at about 110 characters, so the note stays inside the picture.
            var line = "note:"
            for word in note.split(separator: " ") {
                if line.count + word.count + 1 > 110 {
                    c.text(left, height + 4, line, size: 11, colour: "#444"); height += 16; line = "     "
                }
                line += " " + word
            }
            c.text(left, height + 4, line, size: 11, colour: "#444"); height += 18
        }
        return c.render(width: width, height: height + 8)
    }
}
