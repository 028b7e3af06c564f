import Foundation
import TesseraRuntime

/// Metrics logs drawn as one SVG: training loss (solid) and validation loss
/// (dots) against step in the upper panel, tokens/s in the lower, one colour
/// per run with a legend, so runs overlay (fp32 vs bf16, one rank vs a layout).
public enum MetricsPlot {
    /// A comment every plot carries, so a later run may replace the file.
    public static let marker = "<!-- tessera plot -->"
    static let colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]

    /// The SVG text of `runs` (name, logged steps).
    public static func svg(_ runs: [(name: String, steps: [StepMetrics])]) -> String {
        let width = 760.0, panel = 260.0, left = 70.0, right = 20.0, top = 40.0, gap = 60.0
        let all = runs.flatMap(\.steps)
        let maxStep = Double(all.map(\.step).max() ?? 1), minStep = Double(all.map(\.step).min() ?? 0)
        let losses = all.map(\.loss) + all.compactMap(\.val_loss)
        let lossRange = (losses.min() ?? 0, losses.max() ?? 1)
        let speed = (0.0, (all.map(\.tokens_per_s).max() ?? 1) * 1.05)
        func x(_ step: Int) -> Double {
            left + (Double(step) - minStep) / max(maxStep - minStep, 1) * (width - left - right)
        }
        func y(_ v: Double, _ range: (Double, Double), _ y0: Double) -> Double {
            y0 + panel - (v - range.0) / max(range.1 - range.0, 1e-12) * panel
        }
        var out = ["<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(top + 2 * panel + gap + 40 + 16 * Double((runs.count + 2) / 3)))\" "
                   + "font-family=\"sans-serif\" font-size=\"12\">", marker,
                   "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>"]
        for (title, range, y0) in [("loss (solid: training, dots: validation)", lossRange, top),
                                   ("tokens/s", speed, top + panel + gap)] {
            out.append("<text x=\"\(left)\" y=\"\(y0 - 10)\" font-weight=\"bold\">\(title)</text>")
            out.append("<rect x=\"\(left)\" y=\"\(y0)\" width=\"\(width - left - right)\" height=\"\(panel)\" fill=\"none\" stroke=\"#888\"/>")
            for k in 0...4 {
                let v = range.0 + (range.1 - range.0) * Double(k) / 4, yy = y(v, range, y0)
                out.append(String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>",
                                  left, yy, width - right, yy))
                out.append(String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%@</text>", left - 6, yy + 4,
                                  v >= 100 ? String(format: "%.0f", v) : String(format: "%.3f", v)))
            }
            out.append(String(format: "<text x=\"%.1f\" y=\"%.1f\">step %d</text><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">step %d</text>",
                              left, y0 + panel + 16, Int(minStep), width - right, y0 + panel + 16, Int(maxStep)))
        }
        for (i, run) in runs.enumerated() {
            let c = colours[i % colours.count]
            func path(_ points: [(Int, Double)], _ range: (Double, Double), _ y0: Double) -> String {
                points.map { String(format: "%.1f,%.1f", x($0.0), y($0.1, range, y0)) }.joined(separator: " ")
            }
            out.append("<polyline fill=\"none\" stroke=\"\(c)\" stroke-width=\"1.5\" points=\"\(path(run.steps.map { ($0.step, $0.loss) }, lossRange, top))\"/>")
            for s in run.steps { if let v = s.val_loss {
                out.append(String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%@\"/>", x(s.step), y(v, lossRange, top), c))
            } }
            out.append("<polyline fill=\"none\" stroke=\"\(c)\" stroke-width=\"1.5\" points=\"\(path(run.steps.map { ($0.step, $0.tokens_per_s) }, speed, top + panel + gap))\"/>")
            let ly = top + 2 * panel + gap + 30 + Double(i / 3) * 16, lx = left + Double(i % 3) * 230
            out.append(String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"4\" fill=\"%@\"/>", lx, ly - 5, c))
            out.append(String(format: "<text x=\"%.1f\" y=\"%.1f\">%@</text>", lx + 20, ly, escaped(run.name)))
        }
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }

    static func escaped(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
