/// What a `GenerationEngine` asks of a batch scheduler, step by step: the
/// next step of a micro-batch group, how each of its sampled tokens is
/// drawn, and what the tokens do to the sequences. Every rank runs an
/// identical scheduler on the same sampled tokens, so all agree on every
/// step without exchanging batches. `BatchScheduler` runs a fixed list of
/// prompts (`tessera generate`); `ServingScheduler` admits requests as they
/// arrive and pages their caches (`tessera serve`).
protocol StepScheduler: AnyObject {
    /// Micro-batch groups (the engine keeps one step of each in flight).
    var groupCount: Int { get }
    /// The group's next step (nil when the group has nothing to compute now).
    func nextBatch(group: Int) -> DecodeBatch?
    /// For each sampling segment of `batch`, in order: how its next token is drawn.
    func sampleKeys(_ batch: DecodeBatch) -> [SampleKey]
    /// Applies the token sampled for each sampling segment of `batch` (one each, in order).
    func accept(_ batch: DecodeBatch, sampled: [Int32]) -> [GenerationEvent]
}

/// How one sequence's next token is drawn: `sampler` with the draw keyed
/// by (`stream`, `position`); `request` names the sequence in events and
/// recorded logits; `logprobs`: report the token's log-probability and
/// this many most likely alternatives (nil: none).
struct SampleKey {
    var request: Int, stream: Int, position: Int
    var sampler: TokenSampler
    var logprobs: Int? = nil
}
