import Foundation
import TesseraKernels

/// Softmax cross-entropy as a layer pair, over logits split by vocabulary
/// across the tensor-parallel group (Megatron's vocab_parallel_cross_entropy):
/// each rank holds logits [rows, vLocal] for vocabulary ids
/// vocabRange = vocabOffset ..< vocabOffset + vLocal, and the full
/// [rows, vocab] logits are never formed.
///
/// Per row i, with m_i = max over every rank's logits, S_i = Σ_j e^{z_ij − m_i}
/// and z_i,t the target's logit (held by exactly one rank):
/// loss_i = m_i + log S_i − z_i,t. The ranks exchange 3·rows floats: one
/// all-reduce(max) of the local maxima, one all-reduce(sum) of [S_i | z_i,t]
/// (non-owners contribute 0). Subtracting the global maximum keeps every
/// exponent ≤ 0, as in the one-rank kernel. Forward leaves e^{z−m} in the
/// logits' buffer; backward turns it, in place, into
/// dz = (e^{z−m}/S − onehot)·scale. Padded columns (ids ≥ vocab) are
/// excluded from the softmax and get zero gradient, so padding the
/// vocabulary to a multiple of tp changes neither the loss nor any gradient.
/// One rank runs `CrossEntropyKernel`.
public final class VocabParallelCrossEntropy: Layer, @unchecked Sendable {
    /// The logits [rows, vLocal] (overwritten) and the global target ids [rows].
    public struct Input {
        public let logits: Tensor, targets: [Int32]
        /// logits [rows, vLocal] (overwritten by forward and backward), targets [rows] (global ids < vocab).
        public init(logits: Tensor, targets: [Int32]) { self.logits = logits; self.targets = targets }
    }
    /// Σ_i loss_i over the rows, identical on every rank of the group.
    public typealias Output = Double
    /// The loss's gradient: the scale of every token's loss (1/tokens for a mean).
    public typealias OutputGradient = Float

    /// What backward needs: the buffer holding e^{z−m}, the row sums S [rows]
    /// (at `sumsAt` in `stats`) and the targets.
    public struct Cache {
        let exps: Tensor, stats: Tensor, sumsAt: Int, targets: [Int32]
    }

    /// Vocabulary ids whose logits this rank holds (may run past vocab into padding).
    public let vocabRange: Range<Int>
    /// Local columns that are real ids (the rest is padding).
    let validColumns: Int
    let tp: TensorParallel

    /// The loss of a `vocab`-id model on the rank holding logits of ids `vocabRange` of the padded vocabulary.
    public init(vocab: Int, vocabRange: Range<Int>, tp: TensorParallel) {
        self.vocabRange = vocabRange
        validColumns = max(0, min(vocab, vocabRange.upperBound) - vocabRange.lowerBound)
        self.tp = tp
    }

    public var parameters: [Parameter] { [] }
    public var workingWeights: [WorkingWeight] { [] }

    /// (logits [rows, vLocal], targets [rows]) → Σ token losses; the logits' buffer now holds e^{z−m}.
    public func forward(_ input: Input, _ ctx: ForwardContext) throws -> (Double, Cache) {
        let rows = ctx.rows, vLocal = vocabRange.count, logits = input.logits.data, group = tp.group
        return try input.targets.withUnsafeBufferPointer { tb in
            let targets = tb.baseAddress!
            if group.size == 1 {
                let sums = Tensor(uninitialized: [rows])
                let loss = CrossEntropyKernel.forward(logits: logits, targets: targets, rows: rows, v: vLocal,
                                                      validColumns: validColumns, sums: sums.data)
                return (loss, Cache(exps: input.logits, stats: sums, sumsAt: 0, targets: input.targets))
            }
            let stats = Tensor(uninitialized: [3 * rows])  // [max | S | target logit]
            let mx = stats.data, sums = stats.data + rows, target = stats.data + 2 * rows
            let validColumns = self.validColumns, vocabOffset = vocabRange.lowerBound
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
            return (total, Cache(exps: input.logits, stats: stats, sumsAt: rows, targets: input.targets))
        }
    }

    /// The loss's scale → dlogits [rows, vLocal], written over the forward's logits buffer.
    public func backward(_ scale: Float, _ cache: Cache, _ ctx: ForwardContext,
                         _ backward: BackwardContext) throws -> Tensor {
        cache.targets.withUnsafeBufferPointer {
            CrossEntropyKernel.backward(logits: cache.exps.data, targets: $0.baseAddress!, rows: ctx.rows, v: vocabRange.count,
                                        validColumns: validColumns, vocabOffset: vocabRange.lowerBound,
                                        sums: cache.stats.data + cache.sumsAt, scale: scale)
        }
        return cache.exps
    }
}
