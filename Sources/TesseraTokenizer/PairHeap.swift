/// A max-heap of (count, pair) for BPE training: the largest count first,
/// and among equal counts the smallest pair (left id, then right id), the
/// order Hugging Face's `BpeTrainer` pops its merges in. Entries are not
/// removed when a count changes; the trainer pushes the new count and skips
/// popped entries whose count is no longer the pair's.
struct PairHeap {
    struct Entry { var count: Int; var pair: UInt64 }
    private var a: [Entry] = []

    var count: Int { a.count }

    @inline(__always)
    private static func above(_ x: Entry, _ y: Entry) -> Bool {
        x.count > y.count || (x.count == y.count && x.pair < y.pair)
    }

    mutating func push(_ e: Entry) {
        a.append(e)
        var i = a.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if !PairHeap.above(a[i], a[p]) { break }
            a.swapAt(p, i); i = p
        }
    }

    mutating func pop() -> Entry? {
        guard let first = a.first else { return nil }
        let last = a.removeLast()
        if !a.isEmpty {
            a[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < a.count && PairHeap.above(a[l], a[m]) { m = l }
                if r < a.count && PairHeap.above(a[r], a[m]) { m = r }
                if m == i { break }
                a.swapAt(i, m); i = m
            }
        }
        return first
    }
}
