import Foundation

/// An axis with round ticks: steps of 1, 2 or 5 × 10^k, about `count` of them,
/// from a multiple of the step at or below the data's least value to one at or
/// above its greatest (0.00, 0.50, 1.00 … or 0, 5000, 10000 …, never 10387).
public struct NiceScale: Sendable, Equatable {
    /// The axis' ends (multiples of `step`) and the distance between ticks.
    public let lo: Double, hi: Double, step: Double

    /// The round scale covering `[lo, hi]` with about `count` intervals.
    public init(lo: Double, hi: Double, count: Int = 5) {
        var a = lo.isFinite ? lo : 0, b = hi.isFinite ? hi : 1
        if a > b { swap(&a, &b) }
        if b - a < 1e-12 * max(abs(a), 1) { a -= max(abs(a) * 0.05, 0.5); b += max(abs(b) * 0.05, 0.5) }
        let raw = (b - a) / Double(max(count, 1))
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw * (1 - 1e-9) } ?? 10 * magnitude
        self.step = step
        self.lo = floor(a / step + 1e-9) * step
        self.hi = ceil(b / step - 1e-9) * step
    }

    /// Every tick from `lo` to `hi`.
    public var ticks: [Double] {
        let n = Int(((hi - lo) / step).rounded())
        return (0...max(n, 0)).map { lo + Double($0) * step }
    }

    /// A tick's label with as many decimals as the step needs (0.25 → "0.25",
    /// 5000 → "5000", 20000000 → "2e+07" past a million).
    public func label(_ v: Double) -> String {
        let decimals = max(0, Int(-floor(log10(step) + 1e-9)))
        if abs(v) >= 1e7 { return String(format: "%.0e", v) }
        let s = String(format: "%.\(decimals)f", abs(v) < step / 1e6 ? 0 : v)
        return s
    }

    /// Where `v` falls between `from` (at `lo`) and `to` (at `hi`), in pixels.
    public func position(_ v: Double, from: Double, to: Double) -> Double {
        from + (v - lo) / max(hi - lo, 1e-300) * (to - from)
    }
}
