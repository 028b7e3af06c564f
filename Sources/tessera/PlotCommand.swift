import ArgumentParser
import Foundation
import Tessera

struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Draw metrics logs (--metrics FILE) as SVG: loss and validation curves overlaid, and throughput.",
        discussion: "Example: tessera plot fp32.jsonl bf16.jsonl --svg loss.svg --png (the PNG needs rsvg-convert: apt-get install librsvg2-bin)")

    @Argument(help: "Metrics logs written by tessera train --metrics FILE.") var files: [String]
    @Option(help: "The SVG file to write.") var svg: String
    @Flag(help: "Also write a PNG beside the SVG (needs rsvg-convert: apt-get install librsvg2-bin).") var png = false

    func validate() throws {
        try reportingErrors {
            guard !files.isEmpty else { throw ConfigError("give at least one metrics log (tessera train --metrics FILE)") }
            guard svg.hasSuffix(".svg") else { throw ConfigError("--svg names the picture to write and must end in .svg, got '\(svg)'") }
            try OutputFile.check(svg, what: "plot", example: "loss.svg") { path in
                FileManager.default.contents(atPath: path).map { String(decoding: $0.prefix(200), as: UTF8.self).contains(MetricsPlot.marker) } ?? false
            }
        }
    }

    func run() throws {
        try reportingErrors {
            let runs = try files.map { path in
                let steps = try MetricsLog.read(path: path)
                guard !steps.isEmpty else { throw ConfigError("metrics file '\(path)' holds no steps") }
                return (name: FilePathParts(path).name, steps: steps)
            }
            try AtomicFile.write(MetricsPlot.svg(runs), to: svg)
            for r in runs {
                let last = r.steps.last!
                say(String(format: "%@: %d logged steps, last step %d loss %.4f", r.name, r.steps.count, last.step, last.loss)
                    + (r.steps.last { $0.val_loss != nil }?.val_loss.map { String(format: ", validation %.4f", $0) } ?? ""))
            }
            if let note = MetricsPlot.identicalNote(runs) { say("note: " + note) }
            say("wrote \(svg)")
            if png {
                let file = PNGRenderer.pngPath(for: svg)
                try PNGRenderer.convert(svg: svg, png: file)
                say("wrote \(file)")
            }
        }
    }
}
