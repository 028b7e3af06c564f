import TesseraComm

/// This rank's place in an expert-parallel group: `size` ranks carved out of
/// the data-parallel ranks (consecutive dp coordinates), each holding E/size
/// of every mixture-of-experts block's experts, experts
/// rank·E/size ..< (rank+1)·E/size. Tokens reach the rank holding their
/// expert through `TokenExchange`'s all-to-alls. A group of one holds every expert.
///
/// `splitsOverTP` (the layout's `--expert-tp` equal to tp > 1) splits each
/// of those experts over the tensor-parallel group like the dense MLP
/// (`ExpertMLP`); false keeps every expert whole on each tp rank.
public struct ExpertParallel: Sendable {
    /// The expert-parallel group (counted: the benchmark reads its all-to-all time).
    public let group: CountingGroup
    /// Whether each expert's MLP is split over the tensor-parallel group (expert tp = tp).
    public let splitsOverTP: Bool

    public init(group: ProcessGroup, splitsOverTP: Bool = false) {
        self.group = group as? CountingGroup ?? CountingGroup(group)
        self.splitsOverTP = splitsOverTP
    }

    /// No expert parallelism: a group of one rank (holding every expert, split over tp when `splitsOverTP`).
    public static func single(splitsOverTP: Bool = false) -> ExpertParallel {
        ExpertParallel(group: ThreadWorld(size: 1).worldGroup(rank: 0), splitsOverTP: splitsOverTP)
    }

    public var size: Int { group.size }
    public var rank: Int { group.rank }

    /// The global indices of the experts this rank holds, of `experts` (divisible by size).
    public func localExperts(_ experts: Int) -> Range<Int> {
        let per = experts / size
        return (rank * per)..<((rank + 1) * per)
    }
}
