/// Something that can make sub-groups of the world for one rank (a rank thread's
/// world, or an MPI process).
public protocol ProcessGroupFactory {
    /// This rank's world rank.
    var worldRank: Int { get }
    /// The group of `members` (world ranks, in group order), which includes this rank.
    func subgroup(members: [Int], name: String) -> ProcessGroup
}

extension ThreadGroup: ProcessGroupFactory {
    public var worldRank: Int { members[rank] }
    public func subgroup(members: [Int], name: String) -> ProcessGroup {
        world.group(members: members, worldRank: worldRank, name: name)
    }
}
