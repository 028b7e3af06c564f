import Foundation
import Synchronization
import TesseraTopology
import TesseraModel

/// Runs a `GenerationPlan` on its layout: threads of this process, or the
/// processes of an mpirun job. Each rank builds its shard of its stage from
/// the whole tensors of `weights` (any training layout's checkpoint, or an
/// imported GPT-2 export), allocates its caches and runs the
/// `GenerationEngine`; world rank 0 (the first stage) streams the events.
public enum Generation {
    /// Returns the outputs of this process's ranks, in world-rank order.
    /// `emit` is called on world rank 0 with each event as it happens.
    public static func run(_ plan: GenerationPlan, weights: Checkpoint, source: String,
                           backend: Launcher.Backend = .automatic, recordLogits: Bool = false,
                           emit: @escaping @Sendable (GenerationEvent) -> Void = { _ in }) throws -> [GenerationOutput] {
        let model = weights.config.model
        try plan.validate(model: model)
        let stages = try PipelinePartition.stages(plan.layout, model: model)
        let outputs = Mutex([Int: GenerationOutput]())
        let promptIDs = plan.promptIDs, spellings = plan.spellings
        // Memory (weights and KV cache) was checked by `plan.validate`; generation holds no gradients or optimizer state.
        try Launcher.run(Topology(plan.layout), backend: backend) { groups in
            let stage = groups.pp.rank, last = plan.pp - 1
            let gpt = GPT(model, seed: 0, tp: groups.tp, layers: stages[stage], first: stage == 0, last: stage == last)
            try weights.restore(into: gpt.parameters, source: source)
            gpt.useWeights(plan.weights)
            let inference = InferenceStage(model: gpt, slots: plan.slots, capacity: plan.capacity(model))
            let scheduler = BatchScheduler(prompts: promptIDs, spellings: spellings, tokens: plan.tokens, stop: plan.stop,
                                           slots: plan.slots, groups: plan.groups, capacity: plan.capacity(model),
                                           stepTokens: plan.stepTokens, sampler: plan.sampler)
            let engine = GenerationEngine(stage: inference, pipeline: groups.pp, scheduler: scheduler,
                                          recordLogits: recordLogits)
            let leader = groups.worldRank == 0
            let out = try engine.run(requests: plan.prompts.count) { if leader { emit($0) } }
            outputs.withLock { $0[groups.worldRank] = out }
        }
        return outputs.withLock { o in o.keys.sorted().map { o[$0]! } }
    }
}
