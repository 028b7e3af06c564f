import Foundation
import TesseraSupport
import TesseraModel

/// `--moe-stats FILE`: a CSV of the choices routed to each expert of each
/// mixture-of-experts block at every step (step,layer,expert,tokens),
/// written as each step ends.
public final class ExpertStatsLog {
    private let handle: FileHandle

    /// Opens `path` for a new log (refusing a path that holds anything but an earlier one).
    public init(path: String) throws {
        try Self.check(path)
        guard FileManager.default.createFile(atPath: path, contents: Data("step,layer,expert,tokens\n".utf8)),
              let h = FileHandle(forWritingAtPath: path) else {
            throw CheckpointError("cannot write expert statistics '\(path)': cannot create the file")
        }
        h.seekToEndOfFile()
        handle = h
    }

    deinit { try? handle.close() }

    /// Appends step `step`'s rows.
    public func write(step: Int, _ stats: ExpertStepStats) {
        var text = ""
        for (layer, counts) in stats.routed {
            for (e, n) in counts.enumerated() { text += "\(step),\(layer),\(e),\(Int(n.rounded()))\n" }
        }
        handle.write(Data(text.utf8))
    }

    /// The path must be a new file in a writable directory, or an earlier expert-statistics CSV.
    public static func check(_ path: String) throws {
        try OutputPreflight.checkOutputFile(path, what: "expert statistics", example: "experts.csv") { p in
            (try? String(contentsOfFile: p, encoding: .utf8))?.hasPrefix("step,layer,expert,tokens") ?? false
        }
    }
}
