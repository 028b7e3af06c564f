import Foundation
import TesseraSupport

/// Turns an SVG file into a PNG beside it with `rsvg-convert` (librsvg, Debian
/// package librsvg2-bin), an optional external tool: without it the SVG is all
/// there is and the caller says so.
public enum PNGRenderer {
    /// The converter's path on PATH, or nil when it is not installed.
    public static var converter: String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/rsvg-convert" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// "x.svg" → "x.png".
    public static func pngPath(for svg: String) -> String {
        (svg.hasSuffix(".svg") ? String(svg.dropLast(4)) : svg) + ".png"
    }

    /// Writes `png` from `svg`; throws a one-line error when the converter is
    /// missing or fails (it names the package to install), or when `png`
    /// exists and is not a PNG (an earlier picture is replaced, nothing else).
    public static func convert(svg: String, png: String) throws {
        if let head = FileManager.default.contents(atPath: png)?.prefix(8), !head.elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            throw OutputError("cannot write '\(png)': it exists and is not a PNG picture; move it away")
        }
        guard let tool = converter else {
            throw OutputError("--png needs rsvg-convert (apt-get install librsvg2-bin); the SVG \(svg) was written")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = ["--background-color", "white", "-o", png, svg]
        let err = Pipe()
        p.standardError = err
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            let why = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                .split(separator: "\n").first.map(String.init) ?? "exit \(p.terminationStatus)"
            throw OutputError("rsvg-convert could not turn \(svg) into \(png): \(why)")
        }
    }
}

