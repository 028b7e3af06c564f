import TesseraSupport

/// Bounds on the counts a command multiplies together (schedule actions), so
/// that an absurd size is refused at once instead of overflowing or running
/// until the machine runs out of memory.
public enum SizeLimits {
    /// Actions `tessera schedule` generates and simulates: 3 · pp · micro-batches · chunks.
    public static let scheduleActions = 100_000

    /// The product of `factors` (flag name, value), each ≥ 1, with
    /// overflow-checked arithmetic; a `ConfigError` naming the flags, their
    /// product and the limit when it exceeds `limit` (or overflows).
    public static func product(_ factors: [(flag: String, value: Int)], times scale: Int = 1, atMost limit: Int,
                               of what: String) throws -> Int {
        for (flag, value) in factors where value < 1 {
            throw ConfigError("\(flag) must be at least 1, got \(value)")
        }
        var total = scale
        var overflow = false
        for (_, value) in factors where !overflow {
            (total, overflow) = total.multipliedReportingOverflow(by: value)
        }
        guard overflow || total > limit else { return total }
        let names = factors.map { "\($0.flag) \($0.value)" }.joined(separator: " × ")
        let amount = overflow ? "more than \(Int.max)" : "\(total)"
        throw ConfigError("\(names)\(scale == 1 ? "" : " × \(scale)") = \(amount) \(what); at most \(limit) are supported")
    }
}
