import Foundation

/// Softmax cross-entropy over logits split by vocabulary across the
/// tensor-parallel group (Megatron's vocab_parallel_cross_entropy): each rank
/// holds logits [rows, vLocal] for vocabulary ids vocabOffset ..< vocabOffset + vLocal,
/// and the full [rows, vocab] logits are never formed.
///
/// Per row i, with m_i = max over every rank's logits, S_i = Σ_j e^{z_ij − m_i}
/// and z_i,t the target's logit (held by exactly one rank):
/// loss_i = m_i + log S_i − z_i,t. The ranks exchange 3·rows floats: one
/// all-reduce(max) of the local maxima, one all-reduce(sum) of [S_i | z_i,t]
/// (non-owners contribute 0). Subtracting the global maximum keeps every
/// exponent ≤ 0, as in the one-rank kernel. The gradient overwrites the local
/// logits: dz = (e^{z−m}/S − onehot)·scale; padded columns (ids ≥ vocab) are
/// excluded from the softmax and get zero gradient, so padding the vocabulary
/// to a multiple of tp changes neither the loss nor any gradient.
public enum VocabParallelCrossEntropy {
    /// Returns Σ_i loss_i, identical on every rank of `group`. `validColumns`
    /// local columns are real vocabulary (the rest padding); targets are
    /// global ids. With `gradScale` non-nil the logits become their gradient.
    public static func forwardBackward(logits: UnsafeMutablePointer<Float>, targets: UnsafePointer<Int32>,
                                       rows: Int, vLocal: Int, validColumns: Int, vocabOffset: Int,
                                       gradScale: Float?, group: ProcessGroup) throws -> Double {
        if group.size == 1 {
            return CrossEntropyKernel.forwardBackward(logits: logits, targets: targets, rows: rows, v: vLocal,
                                                      validColumns: validColumns, gradScale: gradScale)
        }
        let stats = Tensor(uninitialized: [3 * rows])  // [max | S | target logit]
        let mx = stats.data, sums = stats.data + rows, target = stats.data + 2 * rows
        Compute.parallelRanges(rows) { r in
            for i in r { mx[i] = validColumns > 0 ? Vector.max(logits + i * vLocal, validColumns) : -.greatestFiniteMagnitude }
        }
        try group.allReduce(mx, count: rows, op: .max)
        Compute.parallelRanges(rows) { r in
            for i in r {
                let z = logits + i * vLocal, t = Int(targets[i]) - vocabOffset
                target[i] = (0..<validColumns).contains(t) ? z[t] : 0
                sums[i] = Vector.expShiftSum(z, validColumns, shift: mx[i])  // z now holds e^(z−m)
            }
        }
        try group.allReduce(sums, count: 2 * rows, op: .sum)
        var total = 0.0
        for i in 0..<rows { total += Double(mx[i]) + Foundation.log(Double(sums[i])) - Double(target[i]) }
        if let g = gradScale {
            Compute.parallelRanges(rows) { r in
                for i in r {
                    let t = Int(targets[i]) - vocabOffset
                    CrossEntropyKernel.gradientRow(logits + i * vLocal, v: vLocal, validColumns: validColumns,
                                                   sum: sums[i], target: (0..<validColumns).contains(t) ? t : nil,
                                                   scale: g)
                }
            }
        }
        return total
    }
}
