import TesseraSupport

extension ChromeTrace {
    /// The latest time a slice may end, in µs from the start of the
    /// recording: 10¹³ µs is 116 days, far beyond any traced run (a trace
    /// buffer holds minutes), far inside float64's exact integers.
    public static let latestMicroseconds = 1e13

    /// Throws a `ConfigError` naming the file and the first slice whose
    /// times are not finite, negative or absurdly late, or whose rank is not
    /// among the trace's ranks (what a hand-edited or corrupted trace shows).
    func requirePlausible(path: String) throws {
        let ranks = Set(otherData.ranks.map(\.rank))
        guard ranks.count == otherData.ranks.count, ranks.count <= 65_536 else {
            throw ConfigError("trace file '\(path)' lists \(otherData.ranks.count) ranks, repeated or more than 65536")
        }
        for (i, s) in slices.enumerated() {
            let ts = s.ts ?? -1, dur = s.dur ?? -1
            guard ts.isFinite, dur.isFinite, ts >= 0, dur >= 0, ts + dur <= Self.latestMicroseconds else {
                throw ConfigError("trace file '\(path)': slice \(i) ('\(s.name)') starts at \(ts) µs and lasts \(dur) µs; "
                                  + "times must be finite, non-negative and end within \(Self.latestMicroseconds) µs")
            }
            guard ranks.contains(s.pid) else {
                throw ConfigError("trace file '\(path)': slice \(i) ('\(s.name)') is on rank \(s.pid), which the trace does not list")
            }
        }
    }
}
