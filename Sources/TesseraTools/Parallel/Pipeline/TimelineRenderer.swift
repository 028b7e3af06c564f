import Foundation
import TesseraTopology

/// Draws a timeline as the seeds do: one row per rank, one cell per time
/// unit, each action labelled with its kind and micro-batch (F3, B3, W3),
/// idle time as dots; and the same picture as SVG.
public enum TimelineRenderer {
    /// Terminal rows. `unit` is the time one cell stands for (default: the
    /// shortest action). A cell holds an action's label in its first cell
    /// (with the chunk as a letter, F3a / F3b, when a rank holds several),
    /// dashes in the cells it continues through, a dot when idle.
    public static func text(_ t: Timeline, unit: Double? = nil, chunksOf ranks: Int? = nil) -> [String] {
        let labels = t.spans.map { label($0.action, ranks: ranks) }
        let w = (labels.map(\.count).max() ?? 2) + 1
        func pad(_ s: String) -> String { s.padding(toLength: w, withPad: " ", startingAt: 0) }
        let origin = t.spans.map(\.start).min() ?? 0
        let shortest = unit ?? max(t.spans.map { $0.end - $0.start }.filter { $0 > 0 }.min() ?? 1, 1e-12)
        let u = textUnit(stepTime: t.stepTime, shortest: shortest)
        let width = max(0, Int((t.stepTime / u).rounded()))
        return (0..<t.ranks).map { r in
            var cells = [String](repeating: pad(" ."), count: width)
            for (s, l) in zip(t.spans, labels) where s.rank == r {
                let a = Int(((s.start - origin) / u).rounded())
                let b = max(a + 1, Int(((s.end - origin) / u).rounded()))
                for i in a..<min(b, width) { cells[i] = pad(i == a ? l : String(repeating: "-", count: w - 1)) }
            }
            return "rank \(r) |" + cells.joined() + "|"
        }
    }

    /// "F3", or "F3b" for chunk 1 when ranks hold several chunks (`ranks` given).
    static func label(_ a: PipelineAction, ranks: Int?) -> String {
        let base = "\(a.kind.rawValue)\(a.microBatch)"
        guard let ranks else { return base }
        return base + String(UnicodeScalar(UInt8(97 + a.stage / ranks)))
    }

    /// An SVG drawing: a row per rank, a rectangle per action (F blue, B
    /// green, W orange) labelled like the terminal cells.
    public static func svg(_ t: Timeline, title: String, chunksOf: Int? = nil) -> String {
        let origin = t.spans.map(\.start).min() ?? 0
        let scale = 900 / max(t.stepTime, 1e-12), rowHeight = 28.0, left = 60.0
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(left + 920))" height="\(Int(40 + rowHeight * Double(t.ranks) + 10))" font-family="monospace" font-size="11">
            \(marker)<text x="4" y="16">\(title)</text>

            """
        let colour: [PipelineAction.Kind: String] = [.forward: "#4e79a7", .backward: "#59a14f", .weight: "#f28e2b"]
        for r in 0..<t.ranks {
            let y = 28 + rowHeight * Double(r)
            out += "<text x=\"4\" y=\"\(y + 18)\">rank \(r)</text>\n"
            out += "<rect x=\"\(left)\" y=\"\(y)\" width=\"900\" height=\"\(rowHeight - 4)\" fill=\"#eeeeee\"/>\n"
            for s in t.spans where s.rank == r {
                let x = left + (s.start - origin) * scale, w = max(1, (s.end - s.start) * scale)
                out += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%@\" stroke=\"white\"/>",
                              x, y, w, rowHeight - 4, colour[s.action.kind] ?? "#999999")
                out += String(format: "<text x=\"%.1f\" y=\"%.1f\" fill=\"white\">%@</text>\n",
                              x + 2, y + 16, label(s.action, ranks: chunksOf))
            }
        }
        return out + "</svg>\n"
    }
}
