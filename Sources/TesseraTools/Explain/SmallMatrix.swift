import Foundation
import Synchronization
import TesseraComm

/// A tiny row-major matrix of integer values (held as float32, exact for
/// the sizes `tessera explain` uses), with the products and slices the
/// explanations need and a one-line-per-row printout.
public struct SmallMatrix: Equatable, Sendable {
    public var rows: Int, cols: Int
    public var values: [Float]

    public init(rows: Int, cols: Int, _ values: [Float]) {
        precondition(values.count == rows * cols, "SmallMatrix: \(values.count) values for \(rows)×\(cols)")
        self.rows = rows; self.cols = cols; self.values = values
    }

    /// Entries from a deterministic pattern in -3...3 (seeded by `seed`).
    public static func pattern(rows: Int, cols: Int, seed: Int) -> SmallMatrix {
        SmallMatrix(rows: rows, cols: cols, (0..<(rows * cols)).map { Float((($0 * 3 + seed * 5 + $0 / cols) % 7 + 7) % 7 - 3) })
    }

    public subscript(r: Int, c: Int) -> Float { values[r * cols + c] }

    /// self · other.
    public static func * (a: SmallMatrix, b: SmallMatrix) -> SmallMatrix {
        precondition(a.cols == b.rows, "SmallMatrix product: \(a.rows)×\(a.cols) · \(b.rows)×\(b.cols)")
        var out = [Float](repeating: 0, count: a.rows * b.cols)
        for i in 0..<a.rows { for k in 0..<a.cols { for j in 0..<b.cols { out[i * b.cols + j] += a[i, k] * b[k, j] } } }
        return SmallMatrix(rows: a.rows, cols: b.cols, out)
    }

    /// Elementwise max(0, x).
    public var relu: SmallMatrix { SmallMatrix(rows: rows, cols: cols, values.map { max(0, $0) }) }
    public var transposed: SmallMatrix {
        SmallMatrix(rows: cols, cols: rows, (0..<(rows * cols)).map { values[($0 % rows) * cols + $0 / rows] })
    }
    public static func - (a: SmallMatrix, b: SmallMatrix) -> SmallMatrix {
        SmallMatrix(rows: a.rows, cols: a.cols, zip(a.values, b.values).map { $0 - $1 })
    }

    /// Rows `range`.
    public func rows(_ range: Range<Int>) -> SmallMatrix {
        SmallMatrix(rows: range.count, cols: cols, Array(values[(range.lowerBound * cols)..<(range.upperBound * cols)]))
    }
    /// Columns `range`.
    public func columns(_ range: Range<Int>) -> SmallMatrix {
        SmallMatrix(rows: rows, cols: range.count, (0..<rows).flatMap { r in range.map { values[r * cols + $0] } })
    }

    /// "[ 1 -2  0]" per row; entries that are not integers (softmax
    /// outputs, half-steps of an optimizer) with two decimals, every column
    /// as wide as the widest entry (at least 3).
    public var lines: [String] {
        let text = values.map { v -> String in
            if v == v.rounded() { return String(Int(v)) }
            let s = String(format: "%.2f", Double(v))
            return s == "-0.00" ? "0.00" : s
        }
        let width = max(3, text.map(\.count).max() ?? 0)
        return (0..<rows).map { r in
            "[" + (0..<cols).map { c -> String in
                let s = text[r * cols + c]
                return String(repeating: " ", count: width - s.count) + s
            }.joined(separator: " ") + "]"
        }
    }

    /// "name = [..]" on the first line, aligned rows after.
    public func shown(_ name: String) -> [String] {
        let lead = "\(name) (\(rows)×\(cols)) = "
        return lines.enumerated().map { ($0.offset == 0 ? lead : String(repeating: " ", count: lead.count)) + $0.element }
    }
}

/// Runs an explanation's ranks and collects what each reports.
enum ExplainRanks {
    /// Runs `body` on `size` thread ranks; returns each rank's result, in rank order.
    static func run<T: Sendable>(_ size: Int, _ body: @escaping @Sendable (ThreadGroup) throws -> T) throws -> [T] {
        let results = Mutex<[Int: T]>([:])
        try ThreadWorld.run(size: size, timeout: 10) { g in
            let value = try body(g)
            results.withLock { $0[g.rank] = value }
        }
        return results.withLock { r in (0..<size).map { r[$0]! } }
    }

    /// Every rank's matrix named `name` (rank-indexed), each under a "rank r:" label.
    static func show(_ name: String, _ perRank: [SmallMatrix]) -> [String] {
        perRank.enumerated().flatMap { r, m in m.shown("  rank \(r) \(name)") }
    }

    /// "check: … equals the unsharded result: yes/NO".
    static func check(_ what: String, _ ok: Bool) -> String { "check: \(what): " + (ok ? "yes" : "NO") }
}

extension ProcessGroup {
    /// All-reduce (sum) of a small matrix.
    func allReduced(_ m: SmallMatrix) throws -> SmallMatrix {
        var v = m.values
        try v.withUnsafeMutableBufferPointer { try allReduce($0.baseAddress!, count: m.values.count, op: .sum) }
        return SmallMatrix(rows: m.rows, cols: m.cols, v)
    }
    /// All-gather of row blocks: every rank's rows, stacked in rank order.
    func allGatheredRows(_ m: SmallMatrix) throws -> SmallMatrix {
        var out = [Float](repeating: 0, count: m.values.count * size)
        try m.values.withUnsafeBufferPointer { s in
            try out.withUnsafeMutableBufferPointer { try allGather(s.baseAddress!, count: m.values.count, into: $0.baseAddress!) }
        }
        return SmallMatrix(rows: m.rows * size, cols: m.cols, out)
    }
    /// Reduce-scatter (sum) by rows: this rank's row block of the sum.
    func reduceScatteredRows(_ m: SmallMatrix) throws -> SmallMatrix {
        let part = chunk(rank, of: m.rows)
        var out = [Float](repeating: 0, count: part.count * m.cols)
        try m.values.withUnsafeBufferPointer { s in
            try out.withUnsafeMutableBufferPointer {
                try reduceScatter(s.baseAddress!, total: m.values.count, into: $0.baseAddress!, op: .sum)
            }
        }
        return SmallMatrix(rows: part.count, cols: m.cols, out)
    }
}
