import Foundation
import TesseraSupport
import TesseraKernels
import TesseraTopology
import TesseraModel

/// What one optimizer step reports.
public struct StepResult: Sendable {
    /// 0-based step index.
    public var step: Int
    /// Mean token loss over the global batch.
    public var loss: Double
    /// Global gradient norm before clipping.
    public var gradNorm: Double
    public var lr: Float
    /// Wall time of the step in seconds.
    public var seconds: Double
    /// What the mixture-of-experts blocks' routing did (nil without experts).
    public var experts: ExpertStepStats?
}

/// Training on one rank of a layout (dp × pp × cp × tp, ± sp; one rank by
/// default): this rank's share of the global batch in `microBatches`
/// micro-batches, each forward+backward adding its gradient (through the
/// pipeline schedule when pp > 1), then the gradient sync (tied-embedding,
/// sequence-parallel and data-parallel all-reduces), clipping by the global
/// norm and AdamW on the local shards. Every layout computes the one-rank
/// run's step up to floating-point reassociation (see `tessera verify`).
public final class Trainer: @unchecked Sendable {
    public let config: TrainConfig
    /// This rank's stage modules, by chunk (one unless interleaved); the whole model when pp = 1.
    public let stages: [GPT]
    /// The first of them (the whole model when pp = 1).
    public var model: GPT { stages[0] }
    /// Every parameter this rank holds, stage by stage.
    public let parameters: [Parameter]
    /// Their values and gradients, in flat buckets.
    public let store: ParameterStore
    /// Runs the pipeline schedule (nil when pp = 1).
    public let pipeline: PipelineExecutor?
    /// Runs the forward-only schedule of evaluation (nil when pp = 1).
    let evaluator: PipelineExecutor?
    public let optimizer: AdamW
    public let data: TokenDataset
    public let schedule: LRSchedule
    /// The groups this rank trains with.
    public let groups: RankGroups
    /// Sums the gradients across ranks (overlapped with the last backward unless `overlap` is off).
    public let gradientSync: GradientSync
    /// ZeRO-2/3: where each stage module's units live between uses (empty below stage 2, and at stage 3 with pp > 1).
    public let residencies: [ZeROResidency]
    /// ZeRO-3 with pp > 1: where each chunk's parameters live between the schedule's actions (nil otherwise).
    public let stageResidency: ZeROStageResidency?
    /// Completed steps (the next step's index).
    public private(set) var step = 0

    /// A fresh run (weights from `config.seed`), or the continuation of
    /// `resume`, on the rank that owns `groups` (collective when resuming or
    /// checkpointing: every rank calls it).
    public init(config: TrainConfig, data: TokenDataset, resume: (Checkpoint, String)? = nil,
                groups: RankGroups = .single()) throws {
        try config.validate()
        self.config = config
        self.data = data
        self.groups = groups
        if config.pp > 1 {
            try config.layout.validateSchedule()
            try config.layout.requireMessageTags()
            let ranges = try PipelinePartition.stages(config.layout, model: config.model)
            let schedule = try PipelineSchedules.make(config.schedule, ranks: config.pp,
                                                      microBatches: config.microBatches, chunks: config.ppChunks)
            let ids = (0..<config.ppChunks).map { $0 * config.pp + groups.pp.rank }
            stages = ids.map { s in
                GPT(config.model, seed: config.seed, tp: groups.tp, ep: groups.ep, layers: ranges[s], first: s == 0,
                    last: s == ranges.count - 1)
            }
            let byStage = Dictionary(uniqueKeysWithValues: zip(ids, stages))
            pipeline = PipelineExecutor(schedule: schedule, stages: byStage, pp: groups.pp)
            evaluator = PipelineExecutor(schedule: PipelineSchedules.forwardOnly(ranks: config.pp, microBatches: 1,
                                                                                 chunks: config.ppChunks),
                                         stages: byStage, pp: groups.pp)
        } else {
            stages = [GPT(config.model, seed: config.seed, tp: groups.tp, ep: groups.ep)]
            pipeline = nil
            evaluator = nil
        }
        parameters = stages.flatMap(\.parameters)
        let (zero, expertZero) = groups.zeroGroups.zero(stage: config.layout.zero)
        store = ParameterStore(parameters: parameters, bucketBytes: Int(config.bucketMB * 1_048_576),
                               shards: groups.dpcp.size, zero: zero, expertZero: expertZero,
                               units: zero.shardsGradients ? stages.flatMap(\.units) : nil)
        // After the store: working copies are made from the weights' final (bucket) storage.
        for stage in stages { stage.precision = config.precision; stage.recompute = config.recompute }
        let store = self.store
        if zero.shardsParameters, let pipeline, let evaluator {
            // A pipeline gathers whole chunks around the schedule's actions, not blocks around each micro-batch.
            let ids = (0..<config.ppChunks).map { $0 * config.pp + groups.pp.rank }
            let residency = ZeROStageResidency(stages: Dictionary(uniqueKeysWithValues: zip(ids, stages)), store: store,
                                               groups: groups.zeroGroups)
            pipeline.residency = residency
            evaluator.residency = residency
            stageResidency = residency
            residencies = []
        } else {
            stageResidency = nil
            residencies = zero.shardsGradients
                ? stages.map { ZeROResidency(model: $0, store: store, groups: groups.zeroGroups) } : []
        }
        optimizer = AdamW(store: store, beta1: config.beta1, beta2: config.beta2, weightDecay: config.weightDecay)
        schedule = LRSchedule(peak: config.lr, warmup: config.warmup, total: config.steps, minRatio: config.minLRRatio)
        gradientSync = GradientSync(store: store, groups: groups)
        if let (ckpt, dir) = resume {
            try Checkpoint.requireSameShape(saved: ckpt.config.model, requested: config.model, dir: dir)
            try ckpt.restore(into: store, optimizer: optimizer, source: dir)
            step = ckpt.step
        }
    }

    /// Tokens in one global batch.
    public var tokensPerStep: Int { config.batch * config.model.seqLen }

    /// Global sample indices this data-parallel rank reads each step.
    public var localSamples: Range<Int> {
        let per = config.batch / groups.dp.size
        return (groups.dp.rank * per)..<((groups.dp.rank + 1) * per)
    }

    /// Runs one optimizer step on this rank's share of the data's batch for
    /// this step; throws `TrainingError` if the loss or gradient norm is not finite.
    public func trainStep() throws -> StepResult {
        let T = config.model.seqLen, micro = localSamples.count / config.microBatches
        let batches = (0..<config.microBatches).map { mb in
            let first = localSamples.lowerBound + mb * micro
            return localShare(data.batch(step: step, samples: first..<(first + micro), seqLen: T, seed: config.seed))
        }
        return try trainStep(microBatches: batches, sampleOffset: localSamples.lowerBound,
                             globalTokens: tokensPerStep)
    }

    /// This rank's positions of whole-sequence tokens and targets: all of
    /// them, or under context parallelism its two chunks of each sample.
    func localShare(_ batch: (tokens: [Int32], targets: [Int32])) -> (tokens: [Int32], targets: [Int32]) {
        let T = config.model.seqLen
        return (groups.cp.shard(batch.tokens, seqLen: T), groups.cp.shard(batch.targets, seqLen: T))
    }

    /// Positions per sample this rank holds (seq-len / cp).
    var localPositions: Int { config.model.seqLen / groups.cp.size }

    /// One optimizer step on the given micro-batches (each [micro·seqLen/cp]
    /// tokens and targets, this rank's positions of samples consecutive in global-batch order from sample
    /// `sampleOffset`): accumulate gradients of the mean token loss over
    /// `globalTokens` (default: these micro-batches' tokens), sync them
    /// across ranks, clip the global norm, apply AdamW.
    public func trainStep(microBatches: [(tokens: [Int32], targets: [Int32])], sampleOffset: Int = 0,
                          globalTokens: Int? = nil) throws -> StepResult {
        let start = DispatchTime.now().uptimeNanoseconds
        let span = Trace.begin(.step, index: step); defer { span.end() }
        let T = localPositions
        let lr = schedule.rate(at: step)
        let totalTokens = globalTokens ?? microBatches.reduce(0) { $0 + $1.tokens.count }
        store.zeroGradients()
        var contexts: [ForwardContext] = [], offset = sampleOffset
        for (tokens, _) in microBatches {
            var ctx = context(samples: tokens.count / T, sampleOffset: offset, step: step, dropout: config.model.dropout)
            ctx.lossScale = 1 / Float(totalTokens)
            contexts.append(ctx)
            offset += tokens.count / T
        }
        var lossSum = 0.0
        let gradientReady = gradientSync.beginStep()
        if let pipeline {
            lossSum = try pipeline.run(microBatches, contexts: contexts, gradScale: 1 / Float(totalTokens))
        } else {
            for (m, ((tokens, targets), ctx)) in zip(microBatches, contexts).enumerated() {
                // The last micro-batch's backward completes each gradient: its buckets sync while backward goes on.
                let backward = BackwardContext(gradientReady: m == microBatches.count - 1 ? gradientReady : nil)
                lossSum += try model.forwardBackward(tokens, targets, ctx, gradScale: 1 / Float(totalTokens), backward)
            }
        }
        try Trace.region(.gradientSync) { try gradientSync.finish() }
        if pipeline != nil { lossSum = try groups.pp.sumAcrossRanks(lossSum) }  // only the last stage computes the loss
        try FaultInjection.step(rank: groups.worldRank, step: step + 1)
        let loss = try groups.dpcp.sumAcrossRanks(lossSum / Double(totalTokens))
        guard loss.isFinite else {
            throw TrainingError("loss became \(loss) at step \(step + 1) (lr \(lr)); lower --lr (now \(config.lr)) "
                                + "or keep --grad-clip above 0 (now \(config.gradClip))")
        }
        let norm = try gradientNormSquared().squareRoot()
        guard norm.isFinite else {
            throw TrainingError("gradient norm became \(norm) at step \(step + 1) (loss \(loss)); lower --lr (now \(config.lr))")
        }
        Trace.region(.optimizer) {
            optimizer.step(lr: lr, gradScale: GradientClipping.factor(norm: norm, maxNorm: config.gradClip))
        }
        try store.gatherUpdatedValues(over: groups.zeroGroups)  // ZeRO-1/2: every rank's updated shard to every rank
        for stage in stages { stage.refreshWorkingWeights() }
        step += 1
        let experts = config.model.hasExperts
            ? try ExpertStepStats.gather(stages, config: config.model, world: groups.world, tpRank: groups.tp.rank,
                                         samples: totalTokens / config.model.seqLen, positions: config.model.seqLen)
            : nil
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return StepResult(step: step - 1, loss: loss, gradNorm: norm, lr: lr, seconds: seconds, experts: experts)
    }

    /// The forward context of a micro-batch of this run.
    func context(samples: Int, sampleOffset: Int, step: Int, dropout: Float) -> ForwardContext {
        ForwardContext(samples: samples, positions: config.model.seqLen, sampleOffset: sampleOffset,
                       step: step, seed: config.seed, dropout: dropout, contextParallel: groups.cp)
    }

    /// ‖g‖² of the whole model, each element once (see `GradientNorm`).
    func gradientNormSquared() throws -> Double {
        try GradientNorm.squared(store, shards: groups.zeroGroups, model: groups.model)
    }

    /// Mean validation loss over `config.evalBatches` fixed batches (no
    /// dropout), each rank evaluating its data-parallel share.
    public func evaluate() throws -> Double {
        let span = Trace.begin(.evaluation); defer { span.end() }
        let T = config.model.seqLen
        let evalBatch = config.batch, per = localSamples.count, first = localSamples.lowerBound
        var total = 0.0
        for b in 0..<config.evalBatches {
            let (tokens, targets) = localShare(data.batch(step: b, samples: first..<(first + per), seqLen: T,
                                                          seed: config.seed, validation: true))
            let ctx = context(samples: per, sampleOffset: first, step: b, dropout: 0)
            total += try pipelineLoss(tokens, targets, ctx)
        }
        total = try groups.pp.sumAcrossRanks(total)
        return try groups.dpcp.sumAcrossRanks(total / Double(config.evalBatches * evalBatch * T))
    }

    /// Summed loss without gradients: the whole model's, or through the
    /// pipeline's forward-only schedule (non-zero on the last stage only).
    func pipelineLoss(_ tokens: [Int32], _ targets: [Int32], _ ctx: ForwardContext) throws -> Double {
        guard let evaluator else { return try model.loss(tokens, targets, ctx) }
        return try evaluator.run([(tokens, targets)], contexts: [ctx], gradScale: nil)
    }

    /// Every parameter's whole value by name, assembled from the shards and
    /// stages of this rank's model replica (collective over the pp × tp
    /// group, and over the ZeRO shard groups at ZeRO-3).
    public func wholeParameters() throws -> [String: [Float]] {
        let (states, sharded) = store.valueStates
        return try BucketTensors.gather(states, layout: GPT.parameterLayout(config.model), model: groups.model,
                                        shards: sharded ? groups.zeroGroups : nil)
    }

    /// The current state as a checkpoint of whole tensors (collective).
    public func checkpoint() throws -> Checkpoint {
        try Checkpoint(config: config, step: step, store: store, optimizer: optimizer, model: groups.model,
                       shards: groups.zeroGroups)
    }

    /// Trains until `config.steps`, printing progress through `log` (world
    /// rank 0 only), validating and checkpointing as configured (rank 0
    /// writes). Per-rank memory is printed after the first step of a
    /// multi-rank run. Returns every step's result.
    @discardableResult
    public func run(log rankLog: @escaping (String) -> Void) throws -> [StepResult] {
        let leader = groups.worldRank == 0
        let reporter = try StepReporter(config: config, first: step, tokensPerStep: tokensPerStep, leader: leader,
                                        log: rankLog)
        if try groups.world.allGather([reporter.showsMFU ? 1 : 0]).contains(1) {
            reporter.peak = try ComputePeak.measured(world: groups.world, config: config)
        }
        func log(_ line: String) { if leader { reporter.display.line(line) } }
        let expertLog = leader ? try config.moeStats.map(ExpertStatsLog.init) : nil
        var warnedExperts = false
        /// Publishes the growing logs (metrics, expert statistics) as they stand.
        func publishLogs() {
            reporter.publish()
            expertLog?.publish()
            if let failure = expertLog?.failure, !warnedExperts {
                warnedExperts = true
                reporter.display.warning("\(failure); expert statistics stop here, training goes on")
            }
        }
        /// Saves (rank 0 writes). A failed save keeps the previous checkpoint; during the run it is
        /// reported in one line and training goes on (the next save retries); at the end it is an error.
        func save(_ dir: String, final: Bool) throws {
            let ckpt = try checkpoint()
            guard leader else { return }
            publishLogs()
            do {
                try ckpt.save(to: dir)
                log("saved checkpoint \(dir) at step \(step)")
            } catch {
                let what = "could not save checkpoint \(dir) at step \(step): \(error); the previous checkpoint is kept"
                if final { throw CheckpointError(what) }
                log("warning: \(what), training goes on")
            }
        }
        var results: [StepResult] = []
        let first = step
        var finalValidation: Double?
        while step < config.steps {
            let r = try trainStep()
            results.append(r)
            let done = step
            if done == first + 1 && groups.world.size > 1 { for line in try memoryReport() { log(line) } }
            var validation: Double?
            if done == config.steps {
                validation = try evaluate()  // the final validation: in the last step's metrics, printed below
                finalValidation = validation
            } else if config.evalEvery > 0 && done % config.evalEvery == 0 {
                validation = try evaluate()
                log(String(format: "validation loss %.4f at step %d", validation!, done))
            }
            let memory = (config.metrics != nil || config.tensorboard != nil) && reporter.logged(done) ? try memoryBytes() : nil
            if let experts = r.experts { expertLog?.write(step: done, experts) }
            reporter.report(r, done: done, validation: validation, memory: memory,
                            suffix: (r.experts?.progressSuffix ?? "")
                                + (pipeline.map { String(format: " | stash %d micro-batches, %.1f MiB", $0.peakStashed,
                                                         Double($0.peakActivationBytes) / 1_048_576) } ?? ""))
            if let dir = config.checkpoint, config.checkpointEvery > 0, done % config.checkpointEvery == 0,
               done != config.steps {
                try save(dir, final: false)
            }
        }
        log(String(format: "validation loss %.4f after %d steps", try finalValidation ?? evaluate(), step))
        if let dir = config.checkpoint { try save(dir, final: true) } else if leader { publishLogs() }
        return results
    }
}
