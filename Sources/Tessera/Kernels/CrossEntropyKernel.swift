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
    /// given zero gradient.
    public static func forwardBackward(logits: UnsafeMutablePointer<Float>, targets: UnsafePointer<Int32>,
                                       rows: Int, v: Int, validColumns: Int, gradScale: Float?) -> Double {
        let parts = max(1, min(Compute.threads, rows))
        var partial = [Double](repeating: 0, count: parts)
        partial.withUnsafeMutableBufferPointer { sums in
            let out = sums.baseAddress!
            Compute.parallelParts(rows) { part, parts in
                var total: Double = 0
                for i in (rows * part / parts)..<(rows * (part + 1) / parts) {
                    let z = logits + i * v
                    let mx = Vector.max(z, validColumns)
                    let t = Int(targets[i])
                    let target = z[t]
                    let sum = Vector.expShiftSum(z, validColumns, shift: mx)  // z now holds e^(z−max)
                    total += Double(mx) + Foundation.log(Double(sum)) - Double(target)
                    if let g = gradScale { gradientRow(z, v: v, validColumns: validColumns, sum: sum, target: t, scale: g) }
                }
                out[part] = total
            }
        }
        return partial.reduce(0, +)
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
