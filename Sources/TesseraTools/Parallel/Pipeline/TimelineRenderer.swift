import Foundation
import TesseraTopology

/// Draws a timeline as the seeds do: one row per rank, one cell per time
/// unit, each action labelled with its kind and micro-batch (F3, B3, W3),
/// idle time as dots, and under each rank the micro-batches it holds; and the
/// same picture as SVG (`TimelineSVG`).
public enum TimelineRenderer {
    /// Terminal rows. `unit` is the time one cell stands for (default: the
    /// shortest action). A cell holds an action's label in its first cell
    /// (with the chunk as a letter, F3a / F3b, when a rank holds several),
    /// dashes in the cells it continues through, a dot when idle. With
    /// `residency`, each rank's row is followed by one giving the
    /// micro-batches whose activations it holds in each cell.
    public static func text(_ t: Timeline, unit: Double? = nil, chunksOf ranks: Int? = nil,
                            residency: ActivationResidency? = nil) -> [String] {
        let labels = t.spans.map { label($0.action, ranks: ranks) }
        let w = (labels.map(\.count).max() ?? 2) + 1
        func pad(_ s: String) -> String { s.padding(toLength: w, withPad: " ", startingAt: 0) }
        let origin = t.spans.map(\.start).min() ?? 0
        let shortest = unit ?? max(t.spans.map { $0.end - $0.start }.filter { $0 > 0 }.min() ?? 1, 1e-12)
        let u = textUnit(stepTime: t.stepTime, shortest: shortest)
        let width = max(0, Int((t.stepTime / u).rounded()))
        return (0..<t.ranks).flatMap { r -> [String] in
            var cells = [String](repeating: pad(" ."), count: width)
            for (s, l) in zip(t.spans, labels) where s.rank == r {
                let a = Int(((s.start - origin) / u).rounded())
                let b = max(a + 1, Int(((s.end - origin) / u).rounded()))
                for i in a..<min(b, width) { cells[i] = pad(i == a ? l : String(repeating: "-", count: w - 1)) }
            }
            var rows = ["rank \(r) |" + cells.joined() + "|"]
            if let residency {
                let held = (0..<width).map { i in
                    pad(" \(residency.level(rank: r, at: origin + (Double(i) + 0.5) * u).microBatches)")
                }
                rows.append("  held |" + held.joined() + "|")
            }
            return rows
        }
    }

    /// "F3", or "F3b" for chunk 1 when ranks hold several chunks (`ranks` given).
    static func label(_ a: PipelineAction, ranks: Int?) -> String {
        let base = "\(a.kind.rawValue)\(a.microBatch)"
        guard let ranks else { return base }
        return base + String(UnicodeScalar(UInt8(97 + min(a.stage / ranks, 25))))
    }

    /// The virtual stages per rank a timeline shows (1 unless a stage number reaches the rank count).
    public static func chunks(of t: Timeline) -> Int {
        ((t.spans.map(\.action.stage).max() ?? 0) / max(t.ranks, 1)) + 1
    }

    /// An SVG drawing (see `TimelineSVG`).
    public static func svg(_ t: Timeline, title: String, chunksOf: Int? = nil, scale: TimelineSVG.Scale = .fit) -> String {
        TimelineSVG(timeline: t, title: title, ranksForChunkLabels: chunksOf, scale: scale).render()
    }
}
