import HeapModule

/// A (count, pair) candidate of BPE training, ordered so that a `Heap`'s
/// `popMax` gives the largest count first and, among equal counts, the
/// smallest pair (left id, then right id): the order Hugging Face's
/// `BpeTrainer` pops its merges in. Entries are not removed when a count
/// changes; the trainer pushes the new count and skips popped entries whose
/// count is no longer the pair's.
struct PairCount: Comparable {
    var count: Int
    var pair: UInt64

    static func < (x: PairCount, y: PairCount) -> Bool {
        x.count < y.count || (x.count == y.count && x.pair > y.pair)
    }
}
