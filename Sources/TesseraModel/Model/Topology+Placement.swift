import TesseraTopology

extension Topology {
    /// The world ranks that hold the same copy of a parameter placed by
    /// `placement` as `rank` does: its gradient is summed over them and ZeRO
    /// shards it over them (dp × cp, or the expert-data group for an expert's).
    public func replicaGroup(of placement: Placement, rank: Int) -> [Int] {
        members(placement.replicatedOver, of: rank)
    }

    /// The shards ZeRO cuts such a parameter's bucket into: the size of its replica group.
    public func zeroShards(of placement: Placement) -> Int { size(placement.replicatedOver) }

    /// The parts the parameter's tensor is split into across the model replica (1 when whole).
    public func tensorShards(of placement: Placement) -> Int { placement.shard?.parts ?? 1 }
}
