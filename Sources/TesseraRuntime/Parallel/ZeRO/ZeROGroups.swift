import TesseraComm
import TesseraTopology
import TesseraModel

/// The groups ZeRO shards a bucket over: a dense bucket over the data- and
/// context-parallel ranks (dp × cp, `RankGroups.dpcp`: every rank holding
/// the same parameters, as torchtitan's FSDP shards over dp_shard × cp), an expert's bucket (`Placement.replicatedOver` = `.expertData`) over the
/// expert-data-parallel group (`RankGroups.expertData`: the ranks holding
/// the same experts, dp / ep of them), the group its gradient is summed over.
/// Reduce-scatters, all-gathers of updated or ZeRO-3 values and the
/// gradient norm's shard partials run over the bucket's group.
public struct ZeROGroups {
    /// The dp × cp group (dense buckets; dp itself when cp is 1).
    public let dense: ProcessGroup
    /// The expert-data-parallel group (expert buckets; `dense` itself when ep is 1).
    public let expert: ProcessGroup

    public init(dense: ProcessGroup, expert: ProcessGroup) {
        self.dense = dense
        self.expert = expert
    }

    /// One group for every bucket (no experts, or one rank).
    public init(_ group: ProcessGroup) { self.init(dense: group, expert: group) }

    /// The group `bucket` is sharded over.
    public func group(of bucket: ParameterBucket) -> ProcessGroup { bucket.key.isExpert ? expert : dense }

    /// This rank's shard of each class: ZeRO `stage` with its index in the dense and in the expert group.
    public func zero(stage: Int) -> (dense: ZeRO, expert: ZeRO) {
        (ZeRO(stage: stage, rank: dense.rank, ranks: dense.size), ZeRO(stage: stage, rank: expert.rank, ranks: expert.size))
    }
}

extension RankGroups {
    /// dp × cp for dense buckets (the group their gradients are summed over), the
    /// expert-data-parallel group for expert buckets.
    public var zeroGroups: ZeROGroups { ZeROGroups(dense: dpcp, expert: expertData) }
}
