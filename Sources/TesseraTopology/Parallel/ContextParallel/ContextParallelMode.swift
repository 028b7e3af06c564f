/// How context-parallel ranks compute attention over a sequence they each
/// hold part of (`--cp-mode`).
public enum ContextParallelMode: String, CaseIterable, Sendable, Codable {
    /// K/V blocks travel around the cp ring by send/recv while each rank
    /// accumulates its queries' attention block by block (online softmax).
    case ring
    /// All-to-all from sequence-sharded q, k, v to head-sharded over the
    /// whole sequence, attention on whole sequences, all-to-all back
    /// (DeepSpeed-Ulysses; needs heads divisible by tp · cp).
    case ulysses
}
