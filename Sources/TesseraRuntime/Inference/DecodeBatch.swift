/// The rows one forward step computes: for each sequence in the batch
/// (a slot of the KV cache), its new tokens at consecutive positions after
/// what its cache already holds. A prefill segment carries a whole prompt,
/// a decode segment one token; both kinds mix in one step (continuous
/// batching admits a new prompt while the others decode). A long prompt
/// may be split over several steps (chunked prefill): only the segment
/// that reaches the end of its sequence's context samples a token.
///
/// Each segment names the cache blocks that hold its sequence's positions
/// in order (position p lives in `blocks[p / blockSize]`): one block, the
/// slot itself, for the contiguous cache `tessera generate` uses; a block
/// table from a `BlockPool` for the paged cache of `tessera serve`.
public struct DecodeBatch: Sendable, Equatable {
    /// One sequence's part of the step: `count` new tokens at positions
    /// `start ..< start + count` of cache slot `slot`, rows
    /// `row ..< row + count` of the step's activations; `samples` when its
    /// last token ends the sequence's context (the step samples the next token);
    /// `blocks`: the cache blocks of positions 0 ..< start + count, in order.
    public struct Segment: Sendable, Equatable {
        public var slot: Int, start: Int, count: Int, row: Int, samples: Bool
        public var blocks: [Int]
        /// Keys the segment's last query sees: start + count.
        public var length: Int { start + count }
    }

    public private(set) var segments: [Segment] = []
    /// Token of each row, in segment order [rows].
    public private(set) var tokens: [Int32] = []
    /// Absolute position of each row [rows].
    public private(set) var positions: [Int] = []

    public init() {}

    /// Appends `tokens` of `slot`, whose cache holds `start` positions
    /// already; `samples`: whether the step samples the token after them;
    /// `blocks`: the cache blocks holding the sequence (nil: block `slot`, a contiguous cache).
    public mutating func append(slot: Int, start: Int, tokens new: [Int32], samples: Bool = true, blocks: [Int]? = nil) {
        precondition(!new.isEmpty, "a segment needs at least one token")
        segments.append(Segment(slot: slot, start: start, count: new.count, row: tokens.count, samples: samples,
                                blocks: blocks ?? [slot]))
        tokens += new
        positions += start..<(start + new.count)
    }

    /// Rows of the step (every segment's tokens).
    public var rows: Int { tokens.count }
    public var isEmpty: Bool { segments.isEmpty }
    /// The segments that sample a token, in order.
    public var sampling: [Segment] { segments.filter(\.samples) }
    /// The step cut down to each sampling segment's last row: one-row
    /// segments at the same slots and last positions (what the last block
    /// computes past its K and V).
    public var lastRowsOnly: DecodeBatch {
        var b = DecodeBatch()
        for s in sampling {
            b.append(slot: s.slot, start: s.length - 1, tokens: [tokens[s.row + s.count - 1]], blocks: s.blocks)
        }
        return b
    }
    /// The last row of each sampling segment (where its next token's logits come from).
    public var lastRows: [Int] { sampling.map { $0.row + $0.count - 1 } }
}
