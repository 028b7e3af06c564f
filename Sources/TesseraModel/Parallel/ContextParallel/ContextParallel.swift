import TesseraComm
import TesseraTopology

/// This rank's place in a context-parallel group: which positions of every
/// sample it holds, and the group its attention communicates over.
///
/// Causal load balance (Megatron / Transformer Engine / torch's ring
/// attention): the sequence of T positions is cut into 2·cp chunks of
/// c = T/(2·cp), and rank r holds chunks r and 2·cp − 1 − r, in that order,
/// as its 2c local positions. Under a causal mask a query at position p does
/// p + 1 units of work, so every rank's pair of chunks sums to the same
/// work: (r·c … ) + ((2cp−1−r)·c …) is the same total for every r.
public struct ContextParallel: Sendable {
    /// The context-parallel group (counted, so tests can see each exchange).
    public let group: CountingGroup
    /// How attention is computed across the group.
    public let mode: ContextParallelMode

    public init(group: ProcessGroup, mode: ContextParallelMode = .ring) {
        self.group = group as? CountingGroup ?? CountingGroup(group)
        self.mode = mode
    }

    public var size: Int { group.size }
    public var rank: Int { group.rank }

    /// Global positions of the two chunks rank `r` of `size` holds of a
    /// sequence of `seqLen` positions (seqLen divisible by 2·size).
    public static func chunks(rank r: Int, size: Int, seqLen: Int) -> [Range<Int>] {
        let c = seqLen / (2 * size)
        return [(r * c)..<((r + 1) * c), ((2 * size - 1 - r) * c)..<((2 * size - r) * c)]
    }

    /// This rank's two chunks of a `seqLen`-position sequence.
    public func chunks(seqLen: Int) -> [Range<Int>] { Self.chunks(rank: rank, size: size, seqLen: seqLen) }

    /// This rank's share of sample-major rows [samples·seqLen] of `values`
    /// (tokens or targets): each sample's two chunks, in order → [samples·seqLen/cp].
    public func shard<T>(_ values: [T], seqLen: Int) -> [T] {
        guard size > 1 else { return values }
        let ranges = chunks(seqLen: seqLen)
        var out: [T] = []
        out.reserveCapacity(values.count / size)
        for sample in 0..<(values.count / seqLen) {
            for r in ranges { out += values[(sample * seqLen + r.lowerBound)..<(sample * seqLen + r.upperBound)] }
        }
        return out
    }
}
