import TesseraSupport

extension SizeLimits {
    /// The costs `tessera schedule` accepts for one action: wide enough for
    /// any ratio of real forward/backward times (10⁹ between the extremes),
    /// narrow enough that a step of `scheduleActions` actions adds up
    /// exactly in float64 (10¹¹ ≪ 2⁵³ units of the smallest cost).
    public static let scheduleCost: ClosedRange<Double> = 1e-3...1e6

    /// Throws a `ConfigError` naming the first of `costs` (flag, value) outside `scheduleCost`.
    public static func requireScheduleCosts(_ costs: [(flag: String, value: Double)]) throws {
        for (flag, value) in costs where !(value.isFinite && scheduleCost.contains(value)) {
            throw ConfigError("\(flag) must be a number in \(scheduleCost.lowerBound)...\(Int(scheduleCost.upperBound)) "
                              + "(a relative cost; scale all three alike), got \(value)")
        }
    }
}
