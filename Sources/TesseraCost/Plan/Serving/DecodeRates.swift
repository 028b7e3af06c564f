/// What a decode step costs per unit on a CPU, measured by `tessera bench
/// profile` (`DecodeProfiler`) in CPU time of one thread, so the figures hold
/// on a shared machine:
///
/// - the products of a step with m rows (one per sequence) take, per byte of
///   fp32 weights, `secondsPerWeightByte` at the measured row counts `rows`
///   (1, 2, 4, … 64), linear in between and beyond: streaming the weights is
///   the one-row figure, and what more rows add is measured rather than
///   derived from a peak, because a product with 8 rows can run at a
///   fraction of the rate of one with 32 (the library picks another kernel);
/// - attention over the KV cache reads every cached key and value of every
///   sequence at `attentionBandwidth`.
public struct DecodeRates: Codable, Sendable, Equatable {
    /// Row counts measured, ascending, the first 1.
    public var rows: [Int]
    /// Seconds per byte of fp32 weights of a product pass with `rows[i]` rows.
    public var secondsPerWeightByte: [Double]
    /// Bytes of cached keys and values per second the decode attention reads.
    public var attentionBandwidth: Double

    public init(rows: [Int], secondsPerWeightByte: [Double], attentionBandwidth: Double) {
        self.rows = rows; self.secondsPerWeightByte = secondsPerWeightByte; self.attentionBandwidth = attentionBandwidth
    }

    /// Whether the table is usable: at least two ascending row counts starting at 1, one figure each, every
    /// figure a finite positive number below 1e20 (a profile read from a file is checked).
    public var isValid: Bool {
        rows.count >= 2 && rows.count == secondsPerWeightByte.count && rows.first == 1
            && zip(rows, rows.dropFirst()).allSatisfy { $0 < $1 }
            && (secondsPerWeightByte + [attentionBandwidth]).allSatisfy { $0.isFinite && $0 > 0 && $0 < 1e20 }
    }

    /// Bytes of weights per second a one-row product streams.
    public var streamBandwidth: Double { 1 / secondsPerWeightByte[0] }

    /// Seconds per weight byte with `m` rows: the table, linear between its row counts and beyond its ends.
    public func secondsPerByte(rows m: Double) -> Double {
        var i = 0
        while i < rows.count - 2 && Double(rows[i + 1]) < m { i += 1 }
        let (m0, m1) = (Double(rows[i]), Double(rows[i + 1])), (s0, s1) = (secondsPerWeightByte[i], secondsPerWeightByte[i + 1])
        return max(s0 + (s1 - s0) * (m - m0) / (m1 - m0), 0)
    }

    /// Seconds of one decode step's products over `weightBytes` (fp32) with `rows` rows.
    public func productSeconds(weightBytes: Double, rows m: Double) -> Double { weightBytes * secondsPerByte(rows: m) }

    /// Seconds of one decode step's attention reading `cacheBytes` of keys and values.
    public func attentionSeconds(cacheBytes: Double) -> Double { cacheBytes / attentionBandwidth }
}
