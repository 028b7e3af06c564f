import TesseraComm

/// The ranks that together hold one whole model replica: the pp × tp group,
/// and under expert parallelism its ep ranks too (each holds E/ep of every
/// mixture-of-experts block's experts, and a copy of everything else).
/// The global gradient norm and the gather of whole tensors (checkpoints,
/// `tessera verify`) sum over it, counting each element once (`counts`).
public struct ModelReplica: Sendable {
    /// pp × tp (× ep) ranks.
    public let group: ProcessGroup
    /// This rank's index in its expert-parallel group (0 without expert parallelism).
    public let expertRank: Int

    public init(group: ProcessGroup, expertRank: Int = 0) {
        self.group = group
        self.expertRank = expertRank
    }

    /// Whether this rank's copy of a parameter placed by `p` counts: the
    /// primary copy within the pp × tp group (`Placement.isPrimary`), and of
    /// the ep ranks' identical copies of a dense parameter the first rank's
    /// (each expert's parameters live on one ep rank only).
    public func counts(_ p: Placement) -> Bool { p.isPrimary && (p.isExpert || expertRank == 0) }
}
