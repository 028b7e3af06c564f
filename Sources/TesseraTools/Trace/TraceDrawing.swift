import Foundation
import TesseraSupport
import TesseraRuntime

/// One traced step of any run as a per-rank timeline: for each rank a compute
/// lane (layer regions, nested ones below their parent; pipeline actions;
/// waits on started collectives in red, the exposed communication) and a
/// communication lane (every collective and point-to-point operation, the part
/// spent waiting for peers lighter), on one time axis in milliseconds. So a
/// reader sees bucketed gradient all-reduces run under the backward.
public struct TraceDrawing {
    /// What one rank did in the step, in milliseconds from the step's start.
    public struct RankFigures: Sendable, Equatable {
        public var rank: Int
        /// Time covered by compute regions (outermost level), by communication, by both at once, and
        /// waiting on started collectives.
        public var computeMs: Double, commMs: Double, overlapMs: Double, waitMs: Double
    }

    public let trace: ChromeTrace
    /// The step drawn (1-based, as the trace names them) and its window in µs.
    public let step: Int
    let window: (Double, Double)

    /// The drawing of `step` (nil: the last step every rank traced); a `ConfigError` names a missing step.
    public init(_ trace: ChromeTrace, step: Int? = nil, path: String) throws {
        self.trace = trace
        let steps = trace.slices.filter { $0.cat == "step" }
        let numbers = Set(steps.compactMap { $0.int("step").map { $0 + 1 } })
        guard let last = numbers.max() else {
            throw ConfigError("trace file '\(path)' holds no step (trace a training run: tessera train --trace FILE)")
        }
        let chosen = step ?? last
        guard numbers.contains(chosen) else {
            throw ConfigError("trace file '\(path)' has no step \(chosen); it traced steps "
                              + numbers.sorted().map(String.init).joined(separator: ", "))
        }
        let mine = steps.filter { $0.int("step").map { $0 + 1 } == chosen }
        self.step = chosen
        window = (mine.map { $0.ts ?? 0 }.min()!, mine.map(\.end).max()!)
    }

    var ranks: [Int] { trace.otherData.ranks.map(\.rank).sorted() }

    func slices(rank: Int, thread: Int) -> [ChromeTrace.Event] {
        trace.slices.filter { $0.pid == rank && $0.tid == thread && ($0.ts ?? 0) >= window.0 - 1 && $0.end <= window.1 + 1
                              && $0.cat != "step" }
            .sorted { ($0.ts ?? 0, -($0.dur ?? 0)) < ($1.ts ?? 0, -($1.dur ?? 0)) }
    }

    /// Depth of each compute slice: 0 for the outermost, 1 inside it, ….
    static func depths(_ s: [ChromeTrace.Event]) -> [Int] {
        var open: [Double] = [], out: [Int] = []
        for e in s {
            while let end = open.last, end <= (e.ts ?? 0) + 1e-3 { open.removeLast() }
            out.append(open.count)
            open.append(e.end)
        }
        return out
    }

    /// Total length of the union of intervals.
    static func union(_ iv: [(Double, Double)]) -> [(Double, Double)] {
        var out: [(Double, Double)] = []
        for (a, b) in iv.sorted(by: { $0.0 < $1.0 }) where b > a {
            if let last = out.last, a <= last.1 { out[out.count - 1].1 = max(last.1, b) } else { out.append((a, b)) }
        }
        return out
    }
    static func length(_ iv: [(Double, Double)]) -> Double { iv.reduce(0) { $0 + $1.1 - $1.0 } }
    static func intersection(_ x: [(Double, Double)], _ y: [(Double, Double)]) -> Double {
        var total = 0.0
        for a in x { for b in y { total += max(0, min(a.1, b.1) - max(a.0, b.0)) } }
        return total
    }

    /// Each rank's compute, communication, overlap and waiting in the step.
    public var figures: [RankFigures] {
        ranks.map { r in
            let compute = slices(rank: r, thread: ChromeTrace.computeThread)
            let d = Self.depths(compute)
            let outer = Self.union(zip(compute, d).filter { $0.1 == 0 && $0.0.cat != "wait" }.map { ($0.0.ts ?? 0, $0.0.end) })
            let waits = Self.union(compute.filter { $0.cat == "wait" }.map { ($0.ts ?? 0, $0.end) })
            let comm = Self.union(slices(rank: r, thread: ChromeTrace.commThread).filter { $0.cat == "comm" }
                .map { ($0.ts ?? 0, $0.end) })
            return RankFigures(rank: r, computeMs: Self.length(outer) / 1000, commMs: Self.length(comm) / 1000,
                               overlapMs: Self.intersection(outer, comm) / 1000, waitMs: Self.length(waits) / 1000)
        }
    }

    static func computeColour(_ e: ChromeTrace.Event) -> String {
        if e.cat == "wait" { return "#d62728" }
        if e.cat == "pipeline" {
            return ["F": "#4e79a7", "B": "#59a14f", "W": "#f28e2b"][e.text("kind") ?? ""] ?? "#999"
        }
        let n = e.name
        if n.contains("forward") { return n.hasPrefix("block") ? "#4e79a7" : "#7ea6d1" }
        if n.contains("backward") { return n.hasPrefix("block") ? "#59a14f" : "#8cc47f" }
        if n == "optimizer" { return "#b07aa1" }
        if n == "gradient sync" { return "#9c755f" }
        if n == "loss" { return "#76b7b2" }
        return "#bab0ac"
    }

    static func commColour(_ op: String) -> String {
        if op.contains("allReduce") || op.contains("all-reduce") || op.contains("allreduce") { return "#e15759" }
        if op.lowercased().contains("gather") { return "#f28e2b" }
        if op.lowercased().contains("scatter") { return "#edc948" }
        if op.lowercased().contains("toall") || op.lowercased().contains("to-all") { return "#ff9da7" }
        if op == "send" || op == "recv" { return "#76b7b2" }
        return "#9c755f"
    }

    /// The comment every trace drawing starts its body with: the mark by which Tessera knows a drawing it made.
    public static let marker = "<!-- tessera trace drawing -->"

    /// Whether the file at `path` is a trace drawing Tessera made (its first bytes hold `marker`): the only kind `trace draw` replaces.
    public static func drew(_ path: String) -> Bool {
        SVGCanvas.file(path, startsWith: marker)
    }

    /// The SVG: a legend, a time axis (ms), two lanes per rank, and each rank's figures at the right.
    public func svg(title: String) -> String {
        let left = 120.0, plotW = 1000.0, right = 250.0, laneH = 14.0, gap = 10.0
        let span = max(window.1 - window.0, 1e-9) / 1000   // ms
        func x(_ us: Double) -> Double { left + (us - window.0) / 1000 / span * plotW }
        var c = SVGCanvas(marker: Self.marker)
        c.text(8, 18, title, size: 14, bold: true)
        c.text(8, 36, "layout \(trace.otherData.layout), step \(step): each rank's compute (upper lanes: outer regions, then the "
               + "layers inside them) and communication (lower lane; lighter part: waiting for peers)")
        let legend: [(String, String)] = [("#4e79a7", "forward"), ("#59a14f", "backward"), ("#b07aa1", "optimizer"),
                                          ("#9c755f", "gradient sync"), ("#d62728", "waiting on a started collective"),
                                          ("#e15759", "all-reduce"), ("#f28e2b", "all-gather"), ("#edc948", "reduce-scatter"),
                                          ("#ff9da7", "all-to-all"), ("#76b7b2", "send/recv")]
        var lx = 8.0
        for (colour, name) in legend {
            c.rect(lx, 46, 12, 12, fill: colour); c.text(lx + 16, 56, name, size: 11)
            lx += 26 + Double(name.count) * 6.2
        }
        let top = 90.0
        let axis = NiceScale(lo: 0, hi: span, count: 10)
        let figures = self.figures
        let rowH = 3 * laneH + gap + 4
        let bottom = top + rowH * Double(ranks.count)
        for tick in axis.ticks where tick <= span * (1 + 1e-9) {
            let xx = left + tick / span * plotW
            c.line(xx, top - 6, xx, bottom, stroke: "#ccc", width: 0.6, dash: "2,3")
            c.text(xx, top - 9, axis.label(tick), anchor: "middle", size: 10)
        }
        c.text(left + plotW + 8, top - 9, "time (ms)", size: 10)
        for (i, r) in ranks.enumerated() {
            let y = top + rowH * Double(i)
            let coords = trace.otherData.ranks.first { $0.rank == r }
            c.text(8, y + 14, "rank \(r)")
            if let coords { c.text(8, y + 28, "dp\(coords.dp) pp\(coords.pp) tp\(coords.tp)", size: 10, colour: "#555") }
            c.rect(left, y, plotW, 2 * laneH, fill: "#f3f3f3")
            c.rect(left, y + 2 * laneH + 2, plotW, laneH, fill: "#f3f3f3")
            let compute = slices(rank: r, thread: ChromeTrace.computeThread)
            for (e, d) in zip(compute, Self.depths(compute)) where d < 2 {
                let yy = e.cat == "wait" ? y : y + Double(d) * laneH
                c.rect(x(e.ts ?? 0), yy, max(0.5, x(e.end) - x(e.ts ?? 0)), e.cat == "wait" ? 2 * laneH : laneH - 1,
                       fill: Self.computeColour(e), opacity: e.cat == "wait" ? 0.85 : 1,
                       title: e.name + ((e.text("layer")).map { " " + $0 } ?? "") + String(format: " %.3f ms", (e.dur ?? 0) / 1000))
            }
            let cy = y + 2 * laneH + 2
            for e in slices(rank: r, thread: ChromeTrace.commThread) {
                let x0 = x(e.ts ?? 0), w = max(0.5, x(e.end) - x0)
                if e.cat == "comm" {
                    c.rect(x0, cy, w, laneH, fill: Self.commColour(e.text("op") ?? e.name),
                           title: e.name + String(format: " %.0f bytes, %.3f ms", e.args?["bytes"]?.number ?? 0, (e.dur ?? 0) / 1000))
                } else if e.name == "waiting for peers" {
                    c.rect(x0, cy + 2, w, laneH - 4, fill: "white", opacity: 0.55)
                }
            }
            if let f = figures.first(where: { $0.rank == r }) {
                c.text(left + plotW + 8, y + 12, String(format: "compute %.2f ms, comm %.2f ms", f.computeMs, f.commMs), size: 10)
                c.text(left + plotW + 8, y + 26, String(format: "overlapped %.2f ms, waiting %.2f ms", f.overlapMs, f.waitMs), size: 10)
            }
        }
        return c.render(width: left + plotW + right, height: bottom + 16)
    }
}
