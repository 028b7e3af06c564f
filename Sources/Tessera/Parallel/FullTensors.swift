/// Whole (unsharded) parameter tensors from the shards of a tensor-parallel
/// group, and back: what checkpoints and `tessera verify` work with, so a
/// checkpoint is the same file whatever layout wrote it.
public enum FullTensors {
    /// The global tensors of `tensors` (one per parameter, shaped like it: its
    /// value, or an optimizer moment) on every rank of `tp`. Each rank writes
    /// its shards into zeros and a sum all-reduce assembles them; a parameter
    /// every rank holds whole is written by tp rank 0 only. Exact: each
    /// element is one rank's value plus zeros.
    public static func gather(_ parameters: [Parameter], _ tensors: [Tensor], tp: TensorParallel) throws -> [[Float]] {
        let sizes = parameters.map(\.globalCount)
        let flat = Tensor([sizes.reduce(0, +)])
        var offset = 0
        for (p, t) in zip(parameters, tensors) {
            if p.isSharded || tp.rank == 0 { p.place(t, into: flat.data + offset) }
            offset += p.globalCount
        }
        try tp.group.allReduce(flat.data, count: flat.count, op: .sum)
        offset = 0
        return sizes.map { n in
            defer { offset += n }
            return Array(UnsafeBufferPointer(start: flat.data + offset, count: n))
        }
    }
}
