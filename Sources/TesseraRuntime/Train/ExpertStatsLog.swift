import Foundation
import TesseraSupport
import TesseraModel

/// `--moe-stats FILE`: a CSV of the choices routed to each expert of each
/// mixture-of-experts block at every step (step,layer,expert,tokens),
/// written as each step ends through a `GrowingFile` (an earlier CSV at the
/// path is replaced only when the run publishes: at each checkpoint and at the end).
public final class ExpertStatsLog {
    private let file: GrowingFile
    /// Why rows stopped being written (a full disk), if they did.
    public var failure: String? { file.failure }

    /// Opens `path` for a new log (refusing a path that holds anything but an earlier one).
    public init(path: String) throws {
        try Self.check(path)
        file = try GrowingFile(path: path, header: "step,layer,expert,tokens\n")
    }

    /// Appends step `step`'s rows.
    public func write(step: Int, _ stats: ExpertStepStats) {
        var text = ""
        for (layer, counts) in stats.routed {
            for (e, n) in counts.enumerated() { text += "\(step),\(layer),\(e),\(Int(n.rounded()))\n" }
        }
        file.append(text)
    }

    /// Makes the rows so far the file at its path (see `GrowingFile.publish`).
    public func publish() { file.publish() }

    /// The path must be a new file in a writable directory, or an earlier expert-statistics CSV.
    public static func check(_ path: String) throws {
        try OutputPreflight.checkOutputFile(path, what: "expert statistics", example: "experts.csv") { p in
            (try? String(contentsOfFile: p, encoding: .utf8))?.hasPrefix("step,layer,expert,tokens") ?? false
        }
    }
}
