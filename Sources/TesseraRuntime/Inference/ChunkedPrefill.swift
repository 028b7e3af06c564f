/// A sequence a generation scheduler steps: its context (prompt and
/// generated ids so far), how many of them the KV cache holds, and its cache
/// blocks (nil: the contiguous cache's one block per slot).
protocol ScheduledSequence {
    var context: [Int32] { get }
    var cached: Int { get set }
    var kvBlocks: [Int]? { get }
}

extension DecodeBatch {
    /// One micro-batch group's next step by chunked prefill: every decoding
    /// sequence's one row first, then the prompts share what is left of
    /// `stepTokens` rows in slot order (a longer prompt over several steps);
    /// advances each sequence's `cached`. Nil when the group has nothing to compute.
    static func chunkedPrefill<S: ScheduledSequence>(group: Range<Int>, slots: inout [S?], stepTokens: Int) -> DecodeBatch? {
        let pending = group.map { slots[$0].map { $0.context.count - $0.cached } ?? 0 }
        var budget = stepTokens - pending.filter { $0 == 1 }.count
        var batch = DecodeBatch()
        for (slot, uncached) in zip(group, pending) where uncached > 0 {
            let n = uncached == 1 ? 1 : min(uncached, budget)
            guard n > 0, var s = slots[slot] else { continue }
            if uncached > 1 { budget -= n }
            batch.append(slot: slot, start: s.cached, tokens: Array(s.context[s.cached..<(s.cached + n)]),
                         samples: n == uncached, blocks: s.kvBlocks)
            s.cached += n
            slots[slot] = s
        }
        return batch.isEmpty ? nil : batch
    }
}
