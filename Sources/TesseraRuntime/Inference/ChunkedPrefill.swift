/// A sequence a generation scheduler steps: its context (prompt and
/// generated ids so far), how many of them the KV cache holds, and its cache
/// blocks (nil: the contiguous cache's one block per slot).
protocol ScheduledSequence {
    var context: [Int32] { get }
    var cached: Int { get set }
    var kvBlocks: [Int]? { get }
    /// Order of admission into the batch (earlier: smaller): prompts are prefilled first come, first served.
    var admission: Int { get }
}

extension DecodeBatch {
    /// One micro-batch group's next step by chunked prefill: every decoding
    /// sequence's one row first, then the prompts share what is left of
    /// `stepTokens` rows first come, first served (in admission order, as
    /// vLLM's scheduler: a prompt admitted later never takes rows from an
    /// earlier one still being prefilled, whichever slots they hold; a longer
    /// prompt over several steps). Segments stay in slot order; advances each
    /// sequence's `cached`. Nil when the group has nothing to compute.
    static func chunkedPrefill<S: ScheduledSequence>(group: Range<Int>, slots: inout [S?], stepTokens: Int) -> DecodeBatch? {
        let pending = group.map { slots[$0].map { $0.context.count - $0.cached } ?? 0 }
        var budget = stepTokens - pending.filter { $0 == 1 }.count
        var rows = pending.map { $0 == 1 ? 1 : 0 }
        let slot = Array(group)
        let prompts = pending.indices.filter { pending[$0] > 1 }.sorted { slots[slot[$0]]!.admission < slots[slot[$1]]!.admission }
        for i in prompts where budget > 0 {
            rows[i] = min(pending[i], budget)
            budget -= rows[i]
        }
        var batch = DecodeBatch()
        for (i, slot) in zip(pending.indices, group) where rows[i] > 0 {
            guard var s = slots[slot] else { continue }
            let n = rows[i]
            batch.append(slot: slot, start: s.cached, tokens: Array(s.context[s.cached..<(s.cached + n)]),
                         samples: n == pending[i], blocks: s.kvBlocks)
            s.cached += n
            slots[slot] = s
        }
        return batch.isEmpty ? nil : batch
    }
}
