extension ProcessGroup {
    /// Σ over the group's ranks of `value` (float32 on the wire: ~7 digits).
    public func sumAcrossRanks(_ value: Double) throws -> Double {
        guard size > 1 else { return value }
        var x = Float(value)
        try allReduce(&x, count: 1, op: .sum)
        return Double(x)
    }
}
