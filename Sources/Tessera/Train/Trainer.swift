import Foundation

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
}

/// A training run that diverged or cannot go on.
public struct TrainingError: Error, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}

/// One-rank training: the global batch in `microBatches` micro-batches, each
/// forward+backward adding its gradient, then clipping and AdamW.
public final class Trainer: @unchecked Sendable {
    public let config: TrainConfig
    public let model: GPT
    public let optimizer: AdamW
    public let data: TokenDataset
    public let schedule: LRSchedule
    /// Completed steps (the next step's index).
    public private(set) var step = 0

    /// A fresh run (weights from `config.seed`), or the continuation of `resume`.
    public init(config: TrainConfig, data: TokenDataset, resume: (Checkpoint, String)? = nil) throws {
        try config.validate()
        self.config = config
        self.data = data
        model = GPT(config.model, seed: config.seed)
        optimizer = AdamW(parameters: model.parameters, beta1: config.beta1, beta2: config.beta2,
                          weightDecay: config.weightDecay)
        schedule = LRSchedule(peak: config.lr, warmup: config.warmup, total: config.steps, minRatio: config.minLRRatio)
        if let (ckpt, dir) = resume {
            try Checkpoint.requireSameShape(saved: ckpt.config.model, requested: config.model, dir: dir)
            try ckpt.restore(into: model, optimizer: optimizer, source: dir)
            step = ckpt.step
        }
    }

    /// Tokens in one global batch.
    public var tokensPerStep: Int { config.batch * config.model.seqLen }

    /// Runs one optimizer step on the data's batch for this step; throws
    /// `TrainingError` if the loss or gradient norm is not finite.
    public func trainStep() throws -> StepResult {
        let T = config.model.seqLen, micro = config.batch / config.microBatches
        let batches = (0..<config.microBatches).map { mb in
            data.batch(step: step, samples: (mb * micro)..<((mb + 1) * micro), seqLen: T, seed: config.seed)
        }
        return try trainStep(microBatches: batches)
    }

    /// One optimizer step on the given micro-batches (each [micro·seqLen]
    /// tokens and targets, in global-batch order): accumulate gradients of
    /// the mean token loss, clip the global norm, apply AdamW.
    public func trainStep(microBatches: [(tokens: [Int32], targets: [Int32])]) throws -> StepResult {
        let start = DispatchTime.now().uptimeNanoseconds
        let T = config.model.seqLen
        let lr = schedule.rate(at: step)
        let totalTokens = microBatches.reduce(0) { $0 + $1.tokens.count }
        model.zeroGrad()
        var lossSum = 0.0, sampleOffset = 0
        for (tokens, targets) in microBatches {
            let samples = tokens.count / T
            let ctx = ForwardContext(samples: samples, positions: T, sampleOffset: sampleOffset,
                                     step: step, seed: config.seed, dropout: config.model.dropout)
            lossSum += model.forwardBackward(tokens, targets, ctx, gradScale: 1 / Float(totalTokens))
            sampleOffset += samples
        }
        let loss = lossSum / Double(totalTokens)
        guard loss.isFinite else {
            throw TrainingError("loss became \(loss) at step \(step + 1) (lr \(lr)); lower --lr (now \(config.lr)) "
                                + "or keep --grad-clip above 0 (now \(config.gradClip))")
        }
        let norm = GradientClipping.sumOfSquares(model.parameters).squareRoot()
        guard norm.isFinite else {
            throw TrainingError("gradient norm became \(norm) at step \(step + 1) (loss \(loss)); lower --lr (now \(config.lr))")
        }
        GradientClipping.clip(model.parameters, norm: norm, maxNorm: config.gradClip)
        optimizer.step(lr: lr)
        step += 1
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return StepResult(step: step - 1, loss: loss, gradNorm: norm, lr: lr, seconds: seconds)
    }

    /// Mean validation loss over `config.evalBatches` fixed batches (no dropout).
    public func evaluate() -> Double {
        let T = config.model.seqLen
        var total = 0.0
        for b in 0..<config.evalBatches {
            let (tokens, targets) = data.batch(step: b, samples: 0..<config.batch, seqLen: T, seed: config.seed,
                                               validation: true)
            let ctx = ForwardContext(samples: config.batch, positions: T, sampleOffset: 0, step: b,
                                     seed: config.seed, dropout: 0)
            total += model.loss(tokens, targets, ctx)
        }
        return total / Double(config.evalBatches * config.batch * T)
    }

    /// The current state as a checkpoint.
    public func checkpoint() -> Checkpoint {
        Checkpoint(config: config, step: step, model: model, optimizer: optimizer)
    }

    /// Trains until `config.steps`, printing progress through `log`, validating
    /// and checkpointing as configured. Returns every step's result.
    @discardableResult
    public func run(log: (String) -> Void) throws -> [StepResult] {
        var results: [StepResult] = []
        let first = step
        let flopsPerStep = config.model.trainingFlops(tokens: tokensPerStep)
        let runStart = DispatchTime.now().uptimeNanoseconds
        while step < config.steps {
            let r = try trainStep()
            results.append(r)
            let done = step
            if done % config.logEvery == 0 || done == config.steps || done == first + 1 {
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - runStart) / 1e9
                let perStep = elapsed / Double(done - first)
                log(ProgressLine.format(step: done, of: config.steps, loss: r.loss, lr: r.lr,
                                        tokensPerSecond: Double(tokensPerStep) / r.seconds,
                                        gflops: flopsPerStep / r.seconds / 1e9, elapsed: elapsed,
                                        remaining: perStep * Double(config.steps - done)))
            }
            if config.evalEvery > 0 && done % config.evalEvery == 0 && done != config.steps {
                log(String(format: "validation loss %.4f at step %d", evaluate(), done))
            }
            if let dir = config.checkpoint, config.checkpointEvery > 0, done % config.checkpointEvery == 0,
               done != config.steps {
                try checkpoint().save(to: dir)
                log("saved checkpoint \(dir) at step \(done)")
            }
        }
        log(String(format: "validation loss %.4f after %d steps", evaluate(), step))
        if let dir = config.checkpoint {
            try checkpoint().save(to: dir)
            log("saved checkpoint \(dir) at step \(step)")
        }
        return results
    }
}

/// The one-line progress report of a training step.
public enum ProgressLine {
    public static func format(step: Int, of total: Int, loss: Double, lr: Float, tokensPerSecond: Double,
                              gflops: Double, elapsed: Double, remaining: Double) -> String {
        String(format: "step %d/%d | loss %.4f | lr %.2e | %.0f tok/s | %.1f GFLOP/s | ",
               step, total, loss, Double(lr), tokensPerSecond, gflops)
            + "\(clock(elapsed)) elapsed | \(clock(remaining)) left"
    }

    /// Seconds as m:ss (or h:mm:ss).
    public static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                         : String(format: "%d:%02d", s / 60, s % 60)
    }
}
