/// Continuous batching: which sequences the next step of a micro-batch
/// computes, and what each sampled token does to them.
///
/// The batch's `slots` (cache slots) are split into micro-batch groups
/// (one group unless the pipeline runs several). Before a group's step,
/// every free slot of the group admits the next waiting request. A step
/// computes at most `stepTokens` rows (chunked prefill, as serving engines
/// bound a step): every decoding sequence contributes the one token sampled
/// last, and prompts fill what is left of the budget in admission order, a long
/// prompt over several steps, so a step's activations stay small whatever
/// the batch and prompt length (when decode rows alone fill the budget,
/// prompts wait for sequences to finish). A sequence samples once its
/// whole context is cached. After the step each sampling sequence takes its
/// token and finishes on reaching `tokens` tokens or when the text it
/// generated (the bytes its tokens spell) ends with the stop string,
/// freeing its slot for the next waiting request at the group's
/// next step. Every rank runs an identical scheduler on the same sampled
/// tokens, so all agree on every step's batch without exchanging it.
///
/// A sequence that fills its slot (the model's context) keeps going by
/// shifting its context: the last half of it is prefilled again at
/// positions from 0 (llama.cpp's context shift), which differs from a
/// full recompute of the sliding window, whose positions move every token.
final class BatchScheduler: StepScheduler {
    struct Sequence {
        let request: Int
        /// Tokens of the sequence's current context, cached or to be fed.
        var context: [Int32]
        /// Positions of `context` already in the cache.
        var cached = 0
        /// Tokens generated, and the bytes they spell.
        var generated = 0, text: [UInt8] = []
    }

    let prompts: [[Int32]]
    /// The bytes each id spells (nil: each id is its byte).
    let spellings: [[UInt8]]?
    let tokens: Int, stop: [UInt8], capacity: Int
    /// How every request's tokens are drawn (keyed by request and position).
    let sampler: TokenSampler
    /// Most rows one step computes (decode rows always run; prompts share the rest).
    let stepTokens: Int
    /// Cache slots of each micro-batch group.
    let groups: [Range<Int>]
    private var slots: [Sequence?]
    private var waiting = 0

    /// `slots` cache slots of `capacity` positions split into `groups`
    /// contiguous groups; `prompts` must each fit in `capacity`.
    init(prompts: [[Int32]], spellings: [[UInt8]]? = nil, tokens: Int, stop: [UInt8], slots: Int, groups: Int,
         capacity: Int, stepTokens: Int, sampler: TokenSampler) {
        precondition(prompts.allSatisfy { !$0.isEmpty && $0.count <= capacity } && tokens > 0 && groups <= slots)
        precondition(stepTokens >= 1)
        self.prompts = prompts; self.tokens = tokens; self.stop = stop; self.capacity = capacity
        self.sampler = sampler
        self.spellings = spellings
        self.stepTokens = stepTokens
        self.groups = (0..<groups).map { g in (slots * g / groups)..<(slots * (g + 1) / groups) }
        self.slots = Array(repeating: nil, count: slots)
    }

    /// Admits waiting requests into the group's free slots and returns the
    /// group's next step (nil when the group has nothing left to compute).
    func nextBatch(group g: Int) -> DecodeBatch? {
        for slot in groups[g] where slots[slot] == nil && waiting < prompts.count {
            slots[slot] = Sequence(request: waiting, context: prompts[waiting])
            waiting += 1
        }
        return DecodeBatch.chunkedPrefill(group: groups[g], slots: &slots, stepTokens: stepTokens)
    }

    var groupCount: Int { groups.count }

    /// (request, position in the request's text) of the token each sampling segment of `batch` samples next.
    func sampleKeys(_ batch: DecodeBatch) -> [SampleKey] {
        batch.sampling.map { seg in
            let s = slots[seg.slot]!
            return SampleKey(request: s.request, stream: s.request, position: prompts[s.request].count + s.generated,
                             sampler: sampler)
        }
    }

    /// Applies the token sampled for each sampling segment of `batch` (one each, in order).
    func accept(_ batch: DecodeBatch, sampled: [Int32]) -> [GenerationEvent] {
        var events: [GenerationEvent] = []
        for (seg, token) in zip(batch.sampling, sampled) {
            var s = slots[seg.slot]!
            s.generated += 1
            if let spellings { s.text += spellings[Int(token)] } else { s.text.append(UInt8(token)) }
            events.append(.token(request: s.request, token: token))
            if s.generated == tokens || (!stop.isEmpty && s.text.ends(with: stop)) {
                events.append(.finished(request: s.request))
                slots[seg.slot] = nil
                continue
            }
            s.context.append(token)
            if s.context.count > capacity {
                s.context = Array(s.context.suffix(max(1, capacity / 2)))
                s.cached = 0
            }
            slots[seg.slot] = s
        }
        return events
    }
}

/// What happened to a request during generation: a generated token (a
/// byte of a byte-level model, else an id of its tokenizer), or its end.
/// A sequence that asked for log-probabilities gets its token's `.logprobs` just before its `.token`.
public enum GenerationEvent: Equatable, Sendable {
    case token(request: Int, token: Int32), finished(request: Int)
    case logprobs(request: Int, TokenLogprobs)
}

extension Array where Element: Equatable {
    /// Whether the array's last elements are `suffix`.
    func ends(with suffix: [Element]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}

extension BatchScheduler.Sequence: ScheduledSequence {
    var kvBlocks: [Int]? { nil }
    /// Requests are admitted in order.
    var admission: Int { request }
}
