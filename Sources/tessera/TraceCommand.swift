import ArgumentParser
import Foundation
import Tessera

struct TraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace", abstract: "Read a trace written by --trace FILE.",
        subcommands: [TraceSummaryCommand.self, TraceDrawCommand.self])
}

struct TraceSummaryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summary",
        abstract: "Per step and group: each operation's calls, bytes, time, algbw and busbw; exposed communication.",
        discussion: "Example: tessera train --dp 2 --tp 2 --sp --trace t.json; tessera trace summary t.json")

    @Argument(help: "A trace written by tessera train|verify|bench --trace FILE.") var file: String

    func run() throws {
        try reportingErrors {
            let trace = try ChromeTrace.read(path: file)
            say("\(file): layout \(trace.otherData.layout), \(trace.otherData.ranks.count) rank(s), "
                + "\(trace.slices.count) slices, clocks: \(trace.otherData.clock)")
            for line in CommSummary(trace).lines { say(line) }
        }
    }
}

/// The trace file of one of several benchmark runs: FILE with "-LABEL" before its extension.
func tracePath(_ file: String?, label: String, many: Bool) -> String? {
    guard let file, many else { return file }
    let ext = FilePathParts(file).pathExtension, stem = FilePathParts.deletingExtension(file)
    let safe = label.map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
    return stem + "-" + safe + (ext.isEmpty ? "" : "." + ext)
}
