import TesseraTopology

extension Placement {
    /// A tensor split along dim 0 into `parts` pieces over a tensor-parallel
    /// group of more ranks: each piece held by tp / parts consecutive ranks
    /// (Llama's kv heads when tp exceeds kv-heads). The replicas' gradients
    /// are made whole inside the layer (`GroupedQueryAttention`), so only the
    /// data-parallel sum remains; the first replica's copy counts.
    public static func replicatedShard(parts: Int, over tp: TensorParallel) -> Placement {
        let replicas = tp.size / parts
        return Placement(shard: Shard(dim: 0, over: .tp, parts: parts), replicas: [.tp: tp.rank % replicas],
                         partialSum: [.dp], tie: nil)
    }
}
