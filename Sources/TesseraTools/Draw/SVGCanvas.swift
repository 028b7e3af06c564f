import Foundation

/// A picture built element by element and written as one SVG document:
/// rectangles, lines, dashed polylines, markers and text, with text escaped.
/// Coordinates are pixels from the top left.
public struct SVGCanvas: Sendable {
    public private(set) var elements: [String] = []
    /// A comment placed first, so a later run can recognise (and replace) its own file.
    public var marker: String?

    public init(marker: String? = nil) { self.marker = marker }

    public mutating func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, fill: String,
                              stroke: String? = nil, opacity: Double = 1, title: String? = nil) {
        var e = String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%@\"", x, y, max(w, 0), max(h, 0), fill)
        if let stroke { e += " stroke=\"\(stroke)\" stroke-width=\"0.6\"" }
        if opacity < 1 { e += String(format: " fill-opacity=\"%.2f\"", opacity) }
        elements.append(title.map { e + "><title>\(Self.escaped($0))</title></rect>" } ?? e + "/>")
    }

    public mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String = "#000",
                              width: Double = 1, dash: String? = nil) {
        elements.append(String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%@\" stroke-width=\"%.1f\"",
                               x1, y1, x2, y2, stroke, width) + (dash.map { " stroke-dasharray=\"\($0)\"" } ?? "") + "/>")
    }

    /// A polyline through `points`; `dash` like "6,3" (nil: solid).
    public mutating func polyline(_ points: [(Double, Double)], stroke: String, width: Double = 1.5, dash: String? = nil,
                                  fill: String = "none") {
        guard !points.isEmpty else { return }
        let p = points.map { String(format: "%.1f,%.1f", $0.0, $0.1) }.joined(separator: " ")
        elements.append("<polyline fill=\"\(fill)\" stroke=\"\(stroke)\" stroke-width=\"\(width)\""
                        + (dash.map { " stroke-dasharray=\"\($0)\"" } ?? "") + " points=\"\(p)\"/>")
    }

    /// A marker at (x, y): "circle", "square", "triangle", "diamond" or "cross" (the plot's runs cycle through them).
    public mutating func symbol(_ shape: String, _ x: Double, _ y: Double, size: Double = 3.5, colour: String) {
        let s = size
        switch shape {
        case "square": rect(x - s, y - s, 2 * s, 2 * s, fill: colour)
        case "triangle": polyline([(x, y - s), (x + s, y + s), (x - s, y + s), (x, y - s)], stroke: colour, width: 1, fill: colour)
        case "diamond": polyline([(x, y - s), (x + s, y), (x, y + s), (x - s, y), (x, y - s)], stroke: colour, width: 1, fill: colour)
        case "cross": line(x - s, y - s, x + s, y + s, stroke: colour, width: 1.5); line(x - s, y + s, x + s, y - s, stroke: colour, width: 1.5)
        default: elements.append(String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%@\"/>", x, y, s, colour))
        }
    }

    /// Text at (x, y) (its baseline); `anchor` start, middle or end.
    public mutating func text(_ x: Double, _ y: Double, _ s: String, anchor: String = "start", size: Double? = nil,
                              bold: Bool = false, colour: String? = nil, rotate: Bool = false) {
        var e = String(format: "<text x=\"%.1f\" y=\"%.1f\"", x, y)
        if anchor != "start" { e += " text-anchor=\"\(anchor)\"" }
        if let size { e += " font-size=\"\(size)\"" }
        if bold { e += " font-weight=\"bold\"" }
        if let colour { e += " fill=\"\(colour)\"" }
        if rotate { e += String(format: " transform=\"rotate(-90 %.1f %.1f)\"", x, y) }
        elements.append(e + ">\(Self.escaped(s))</text>")
    }

    /// Adds `other`'s elements moved down by `dy` pixels (pictures stacked in one document).
    public mutating func place(_ other: SVGCanvas, dy: Double) {
        elements.append(String(format: "<g transform=\"translate(0 %.1f)\">", dy))
        elements += other.elements
        elements.append("</g>")
    }

    /// The document, `width` × `height` pixels on white.
    public func render(width: Double, height: Double, font: String = "sans-serif", fontSize: Double = 12) -> String {
        var out = ["<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width.rounded(.up)))\" height=\"\(Int(height.rounded(.up)))\" "
                   + "font-family=\"\(font)\" font-size=\"\(fontSize)\">"]
        if let marker { out.append(marker) }
        out.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>")
        return (out + elements + ["</svg>"]).joined(separator: "\n") + "\n"
    }

    /// Whether the file at `path` begins (within its first 400 bytes) with `marker`: how a
    /// command knows a picture it drew itself, the only kind it replaces.
    public static func file(_ path: String, startsWith marker: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 400)) ?? nil
        return head.map { String(decoding: $0, as: UTF8.self).contains(marker) } ?? false
    }

    public static func escaped(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
