import ArgumentParser
import Foundation
import Tessera

struct TraceDrawCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "draw",
        abstract: "Draw one traced step as a per-rank timeline of compute and communication (SVG, and PNG with --png).",
        discussion: "Example: tessera train --dp 2 --steps 3 --trace t.json; tessera trace draw t.json --svg t.svg --png")

    @Argument(help: "A trace written by tessera train|verify|bench --trace FILE.") var file: String
    @Option(help: "The SVG file to write.") var svg: String
    @Option(help: "The traced step to draw (default: the last).") var step: Int?
    @Flag(help: "Also write a PNG beside the SVG (needs rsvg-convert: apt-get install librsvg2-bin).") var png = false

    func validate() throws {
        try reportingErrors {
            guard svg.hasSuffix(".svg") else { throw ConfigError("--svg names the picture to write and must end in .svg, got '\(svg)'") }
            if let step, step < 1 { throw ConfigError("--step counts from 1, got \(step)") }
            try OutputFile.check(svg, what: "trace drawing", example: "trace.svg", replaceable: TraceDrawing.drew)
        }
    }

    func run() throws {
        try reportingErrors {
            let drawing = try TraceDrawing(ChromeTrace.read(path: file), step: step, path: file)
            for f in drawing.figures {
                say(String(format: "rank %d: compute %.2f ms, communication %.2f ms, overlapped %.2f ms, waiting %.2f ms",
                           f.rank, f.computeMs, f.commMs, f.overlapMs, f.waitMs))
            }
            try AtomicFile.write(drawing.svg(title: "trace \(FilePathParts(file).name)"), to: svg)
            say("wrote \(svg) (step \(drawing.step))")
            if png {
                let file = PNGRenderer.pngPath(for: svg)
                try PNGRenderer.convert(svg: svg, png: file)
                say("wrote \(file)")
            }
        }
    }
}
