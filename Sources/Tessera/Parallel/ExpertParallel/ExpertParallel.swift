import TesseraComm

/// This rank's place in an expert-parallel group: `size` ranks carved out of
/// the data-parallel ranks (consecutive dp coordinates), each holding E/size
/// of every mixture-of-experts block's experts, experts
/// rank·E/size ..< (rank+1)·E/size. Tokens reach the rank holding their
/// expert through `TokenExchange`'s all-to-alls. A group of one holds every expert.
public struct ExpertParallel: Sendable {
    /// The expert-parallel group (counted: the benchmark reads its all-to-all time).
    public let group: CountingGroup

    public init(group: ProcessGroup) {
        self.group = group as? CountingGroup ?? CountingGroup(group)
    }

    /// No expert parallelism: a group of one rank.
    public static func single() -> ExpertParallel {
        ExpertParallel(group: ThreadWorld(size: 1).worldGroup(rank: 0))
    }

    public var size: Int { group.size }
    public var rank: Int { group.rank }

    /// The global indices of the experts this rank holds, of `experts` (divisible by size).
    public func localExperts(_ experts: Int) -> Range<Int> {
        let per = experts / size
        return (rank * per)..<((rank + 1) * per)
    }
}
