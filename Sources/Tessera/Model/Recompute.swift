/// Activation recomputation (`--recompute`, Korthikanti et al. 2022): what
/// a forward keeps for backward and what backward computes again. Dropout
/// masks come from Philox keyed by global coordinates, so a recomputed
/// forward is the first one bit for bit.
public enum Recompute: String, Sendable, Codable, CaseIterable {
    /// Keep every activation backward reads.
    case none
    /// Recompute the attention core (scores, softmax, dropout) from the kept
    /// Q, K, V. Tessera's blockwise attention always does this (it keeps one
    /// log-sum-exp per row and head, never the [t, t] probabilities), so
    /// selective keeps the same bytes as none; it is accepted for planner and
    /// Megatron parity.
    case selective
    /// Keep only each block's input; backward runs the block's forward again
    /// (communication included) before its backward.
    case full
}
