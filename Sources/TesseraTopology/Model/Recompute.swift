/// Activation recomputation (`--recompute`, Korthikanti et al. 2022): what
/// a forward keeps for backward and what backward computes again. Dropout
/// masks come from Philox keyed by global coordinates, so a recomputed
/// forward is the first one bit for bit.
public enum Recompute: String, Sendable, Codable, CaseIterable {
    /// Keep every activation backward reads.
    case none
    /// Recompute the attention core from the kept Q, K, V: its scores,
    /// softmax and dropout (which Tessera's blockwise kernel never keeps) and
    /// its outputs, the head outputs and one log-sum-exp per row and head
    /// (which it otherwise keeps): 4·(sbh + asb)/t bytes less per block, one
    /// more core forward in backward (`CausalSelfAttention.recomputeCore`).
    /// Under ring context parallelism the ring runs again; not with Ulysses.
    case selective
    /// Keep only each block's input; backward runs the block's forward again
    /// (communication included) before its backward.
    case full
}
