import Foundation

/// What bounds a drawn timeline: the terminal drawing's width and the mark
/// by which Tessera knows an SVG timeline it drew (the only kind it replaces).
extension TimelineRenderer {
    /// Cells per rank row of the terminal drawing at most: beyond it one cell
    /// stands for more than the shortest action (so a row stays a line, not megabytes).
    public static let maxTextCells = 400

    /// The comment every SVG timeline starts its body with.
    public static let marker = "<!-- tessera timeline -->"

    /// The time one cell stands for: the shortest action, or a longer unit
    /// when the step would need more than `maxTextCells` cells of it.
    static func textUnit(stepTime: Double, shortest: Double) -> Double {
        guard stepTime.isFinite, stepTime > 0 else { return max(shortest, 1e-12) }
        return max(shortest, stepTime / Double(maxTextCells))
    }

    /// Whether the file at `path` is an SVG timeline Tessera drew (its first bytes hold `marker`).
    public static func drewSVG(_ path: String) -> Bool {
        SVGCanvas.file(path, startsWith: marker)
    }
}
