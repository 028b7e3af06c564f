import Foundation

/// Fused softmax + cross-entropy over logits [rows, v].
///
/// loss_i = log Σ_j e^{z_ij} − z_i,target, with the row maximum subtracted
/// before exponentiating (log-sum-exp), accumulated in double across rows.
/// The gradient overwrites the logits in place: dz = (softmax(z) − onehot)·scale,
/// so no second [rows, v] buffer is ever allocated.
public enum CrossEntropyKernel {
    /// Returns Σ_i loss_i (not averaged). If `gradScale` is non-nil, logits
    /// become their gradient times `gradScale` (1/tokens for a mean loss).
    /// Columns ≥ `validColumns` are padding: excluded from the softmax and
    /// given zero gradient. (`forward` then `backward`.)
    public static func forwardBackward(logits: UnsafeMutablePointer<Float>, targets: UnsafePointer<Int32>,
                                       rows: Int, v: Int, validColumns: Int, gradScale: Float?) -> Double {
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: max(1, rows))
        defer { sums.deallocate() }
        let loss = forward(logits: logits, targets: targets, rows: rows, v: v, validColumns: validColumns, sums: sums)
        if let g = gradScale { backward(logits: logits, targets: targets, rows: rows, v: v, validColumns: validColumns, sums: sums, scale: g) }
        return loss
    }

    /// Returns Σ_i loss_i; logits [rows, v] become e^(z − row max) over
    /// their valid columns and sums [rows] their row sums, which `backward` reads.
    public static func forward(logits: UnsafeMutablePointer<Float>, targets: UnsafePointer<Int32>, rows: Int, v: Int,
                               validColumns: Int, sums rowSums: UnsafeMutablePointer<Float>) -> Double {
        let parts = Compute.parts(for: rows)
        var partial = [Double](repeating: 0, count: parts)
        partial.withUnsafeMutableBufferPointer { sums in
            let out = sums.baseAddress!
            Compute.parallelParts(rows, parts: parts) { part, parts in
                var total: Double = 0
                for i in (rows * part / parts)..<(rows * (part + 1) / parts) {
                    let z = logits + i * v
                    let mx = Vector.max(z, validColumns)
                    let target = z[Int(targets[i])]
                    let sum = Vector.expShiftSum(z, validColumns, shift: mx)  // z now holds e^(z−max)
                    rowSums[i] = sum
                    total += Double(mx) + Foundation.log(Double(sum)) - Double(target)
                }
                out[part] = total
            }
        }
        return partial.reduce(0, +)
    }

    /// After `forward`: logits [rows, v] become (softmax − onehot(target))·scale, padding columns zero.
    /// The columns are vocabulary ids `vocabOffset ..<` (a vocab-parallel rank's share); a target
    /// outside them is another rank's, which subtracts its one-hot.
    public static func backward(logits: UnsafeMutablePointer<Float>, targets: UnsafePointer<Int32>, rows: Int, v: Int,
                                validColumns: Int, vocabOffset: Int = 0, sums: UnsafePointer<Float>, scale g: Float) {
        Compute.parallelRanges(rows) { r in
            for i in r {
                let t = Int(targets[i]) - vocabOffset
                gradientRow(logits + i * v, v: v, validColumns: validColumns, sum: sums[i],
                            target: (0..<validColumns).contains(t) ? t : nil, scale: g)
            }
        }
    }

    /// One row's gradient in place: z [v] holds e^(z−max) over its
    /// `validColumns` with Σ = `sum`; it becomes (softmax − onehot(target))·scale,
    /// padding columns zero. `target` is a local column, or nil when another
    /// rank holds it (vocab-parallel).
    @inline(__always)
    static func gradientRow(_ z: UnsafeMutablePointer<Float>, v: Int, validColumns: Int, sum: Float, target: Int?,
                            scale g: Float) {
        Vector.scale(z, validColumns, by: g / sum)
        (z + validColumns).update(repeating: 0, count: v - validColumns)
        if let target { z[target] -= g }
    }
}
