import TesseraTopology

/// How one parameter is laid out across the ranks of a layout, stated once
/// where the parameter is built and read by everything that needs to know:
/// the gradient sync (which sums to run), the global gradient norm and the
/// checkpoint gather (which copy counts), ZeRO shards and the memory report.
///
/// Data-parallel replication is implicit: every rank of a data-parallel
/// group holds the same parameters. `replicas` lists the dimensions *within
/// one model replica* (the pp × tp group) over which identical copies exist.
public struct Placement: Sendable, Equatable {
    /// A dimension of the global tensor split across a mesh dimension.
    public struct Shard: Sendable, Equatable {
        /// Tensor dimension split (0: rows, 1: columns).
        public var dim: Int
        /// Mesh dimension whose ranks each hold one part.
        public var over: MeshDim
        /// Number of parts (the size of the group along `over`); every part has the local extent.
        public var parts: Int
        /// Trailing elements of the split dimension, past the global tensor's
        /// end, that the last parts hold as padding (the padded vocabulary).
        public var padding = 0
    }

    /// A parameter held by several pipeline stages as one tied tensor (GPT's
    /// token embedding, also the LM head on the last stage). The tie group
    /// sums the copies' gradients; `primary` marks the copy that counts.
    public struct Tie: Sendable, Equatable {
        /// The process group that sums the copies.
        public var group: TieGroup
        /// Whether this is the copy counted in norms and checkpoints.
        public var primary: Bool
    }

    /// Groups that sum the gradients of tied copies.
    public enum TieGroup: Sendable, Hashable {
        /// The first and the last pipeline stage of one (dp, tp) column (`RankGroups.embedding`).
        case embedding
    }

    /// The split dimension, or nil when this rank holds the whole tensor.
    public var shard: Shard?
    /// Mesh dimensions of the model replica over which identical copies are
    /// held, with this rank's coordinate along each (coordinate 0 counts).
    public var replicas: [MeshDim: Int]
    /// Mesh dimensions over which this rank's gradient is a partial sum, in
    /// the order the gradient sync sums them.
    public var partialSum: [MeshDim]
    /// The tie, if any.
    public var tie: Tie?
    /// The group of model replicas that hold this same parameter, over
    /// which its gradient is summed (the `.dp` entry of `partialSum`) and ZeRO
    /// shards it: `.dpcp` for dense parameters (every rank of the dp × cp
    /// group holds them), `.expertData` for one expert's (held by one rank of
    /// each expert-parallel group: the ranks holding the same expert).
    public var replicatedOver = GroupKind.dpcp

    /// Whether this is one expert's parameter (replicated over the expert-data group).
    public var isExpert: Bool { replicatedOver == .expertData }

    /// Held whole by one rank of each model replica; gradient summed over dp.
    public static let whole = Placement(shard: nil, replicas: [:], partialSum: [.dp], tie: nil)

    /// Split along tensor dimension `dim` over the tensor-parallel group.
    public static func sharded(dim: Int, over tp: TensorParallel) -> Placement {
        tp.size == 1 ? .whole
            : Placement(shard: Shard(dim: dim, over: .tp, parts: tp.size), replicas: [:], partialSum: [.dp], tie: nil)
    }

    /// The global tensor's shape for a local `shape` held under this
    /// placement: the split dimension times the number of parts, less padding.
    public func globalShape(local shape: [Int]) -> [Int] {
        guard let shard else { return shape }
        var global = shape
        global[shard.dim] = shape[shard.dim] * shard.parts - shard.padding
        return global
    }

    /// This placement with `padding` trailing elements of the split dimension (none when unsplit).
    func padded(_ padding: Int) -> Placement {
        var p = self
        p.shard?.padding = padding
        return p
    }

    /// Held whole by every tensor-parallel rank. Such parameters (LayerNorms,
    /// row-parallel biases, the position embedding) act on the rows outside
    /// the tensor-parallel region; under sequence parallelism those are this
    /// rank's sequence chunk, so the gradient is a partial sum over tp
    /// (Megatron's allreduce_layernorm_grads).
    public static func replicated(over tp: TensorParallel) -> Placement {
        guard tp.size > 1 else { return .whole }
        return Placement(shard: nil, replicas: [.tp: tp.rank],
                         partialSum: tp.sequenceParallel ? [.tp, .dp] : [.dp], tie: nil)
    }

    /// Held whole by every tensor-parallel rank, each computing its gradient
    /// completely from all rows of the micro-batch (a mixture of experts
    /// gathers sequence-parallel chunks and routes them redundantly on every
    /// tensor-parallel rank): the router, and whole experts (`replicatedOver` `.expertData`).
    public static func wholeOnEveryRank(of tp: TensorParallel, replicatedOver: GroupKind = .dpcp) -> Placement {
        var p = Placement(shard: nil, replicas: tp.size > 1 ? [.tp: tp.rank] : [:], partialSum: [.dp], tie: nil)
        p.replicatedOver = replicatedOver
        return p
    }

    /// This placement replicated over the expert-data group: one expert's parameter.
    public var ofOneExpert: Placement {
        var p = self
        p.replicatedOver = .expertData
        return p
    }

    /// This placement, tied through `group` (`primary`: the copy that counts).
    public func tied(through group: TieGroup, primary: Bool) -> Placement {
        var p = self
        p.tie = Tie(group: group, primary: primary)
        return p
    }

    /// Whether this rank's copy is the one counted once per model replica
    /// (global gradient norm, checkpoint gather): every shard, and of
    /// identical copies the one at replica coordinate 0 and the primary tie.
    public var isPrimary: Bool { replicas.values.allSatisfy { $0 == 0 } && (tie?.primary ?? true) }

    /// What the gradient sync must do for this parameter: parameters with
    /// equal keys can share a bucket.
    package var syncKey: SyncKey { SyncKey(partialSum: partialSum, tie: tie?.group, primary: isPrimary, replicatedOver: replicatedOver) }

    /// The gradient-sync class of a bucket (see `syncKey`).
    package struct SyncKey: Hashable, Sendable {
        package var partialSum: [MeshDim]
        package var tie: TieGroup?
        var primary: Bool
        package var replicatedOver: GroupKind
        /// Whether the bucket holds experts' parameters.
        package var isExpert: Bool { replicatedOver == .expertData }
    }
}
