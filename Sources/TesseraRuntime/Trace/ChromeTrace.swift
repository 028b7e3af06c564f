import Foundation
import TesseraSupport

/// A trace in Chrome's trace-event JSON format, which ui.perfetto.dev and
/// chrome://tracing open: one process per rank (pid = world rank), thread 0
/// its compute stream (layer regions, pipeline actions, waits on started
/// collectives), thread 1 its communication stream (every collective and
/// point-to-point operation, with "waiting for peers" and "moving data"
/// inside). Times are microseconds from the start of rank 0's recording.
/// Tessera's own description of the run (layout, each rank's coordinates)
/// is in `otherData`, which trace viewers keep as metadata.
public struct ChromeTrace: Codable, Sendable {
    /// An argument value: text or a number.
    public enum Arg: Codable, Sendable, Equatable {
        case text(String), number(Double)

        public init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let d = try? c.decode(Double.self) { self = .number(d) } else { self = .text(try c.decode(String.self)) }
        }
        public func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .text(let s): try c.encode(s)
            case .number(let d): try c.encode(d)
            }
        }
        public var number: Double? { if case .number(let d) = self { d } else { nil } }
        public var text: String? { if case .text(let s) = self { s } else { nil } }
    }

    /// One trace event: "X" (a complete slice with ts and dur) or "M" (metadata: process and thread names).
    public struct Event: Codable, Sendable {
        public var name: String
        public var cat: String?
        public var ph: String
        public var ts: Double?
        public var dur: Double?
        public var pid: Int
        public var tid: Int?
        public var args: [String: Arg]?

        public init(name: String, cat: String? = nil, ph: String = "X", ts: Double? = nil, dur: Double? = nil,
                    pid: Int, tid: Int? = nil, args: [String: Arg]? = nil) {
            self.name = name; self.cat = cat; self.ph = ph; self.ts = ts; self.dur = dur
            self.pid = pid; self.tid = tid; self.args = args
        }

        public func int(_ key: String) -> Int? { args?[key]?.number.map { Int($0) } }
        public func text(_ key: String) -> String? { args?[key]?.text }
        /// End time (µs).
        public var end: Double { (ts ?? 0) + (dur ?? 0) }
    }

    /// One rank: its world rank and mesh coordinates.
    public struct Rank: Codable, Sendable, Equatable {
        public var rank: Int, dp: Int, pp: Int, tp: Int
        public init(rank: Int, dp: Int, pp: Int, tp: Int) { self.rank = rank; self.dp = dp; self.pp = pp; self.tp = tp }
    }

    /// What Tessera records about the run.
    public struct Info: Codable, Sendable {
        /// "tessera-trace/1": marks a trace Tessera wrote (and may replace).
        public var format: String
        /// The layout's name, e.g. "dp2×tp2+sp".
        public var layout: String
        public var ranks: [Rank]
        /// Events dropped because a rank's buffer was full (0 normally).
        public var dropped: Int
        /// How the clocks were aligned ("one clock": thread ranks; "barrier": MPI processes).
        public var clock: String
    }

    public static let formatTag = "tessera-trace/1"
    /// Thread ids of the two streams.
    public static let computeThread = 0, commThread = 1

    public var traceEvents: [Event]
    public var displayTimeUnit = "ms"
    public var otherData: Info

    /// The slices ("X" events), in file order.
    public var slices: [Event] { traceEvents.filter { $0.ph == "X" } }

    /// JSON text of the trace.
    public func encoded() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return try e.encode(self)
    }

    /// Reads a trace Tessera wrote; anything else is a `ConfigError` naming the file and what is wrong.
    public static func read(path: String) throws -> ChromeTrace {
        let data = try InputFile.contents(path, what: "trace file", hint: "write one with --trace FILE")
        let trace: ChromeTrace
        do { trace = try JSONDecoder().decode(ChromeTrace.self, from: data) } catch {
            throw ConfigError("trace file '\(path)' is not a Tessera trace (Chrome trace-event JSON with "
                              + "otherData.format \"\(formatTag)\"): \(error.localizedDescription)")
        }
        guard trace.otherData.format == formatTag else {
            throw ConfigError("trace file '\(path)' has format '\(trace.otherData.format)'; this Tessera reads '\(formatTag)'")
        }
        guard !trace.otherData.ranks.isEmpty, trace.slices.allSatisfy({ ($0.ts ?? -1) >= 0 && ($0.dur ?? -1) >= 0 }) else {
            throw ConfigError("trace file '\(path)' lists no ranks or holds a slice without a start and a duration")
        }
        try trace.requirePlausible(path: path)
        return trace
    }
}
