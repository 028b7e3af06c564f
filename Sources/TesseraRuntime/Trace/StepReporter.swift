import Foundation
import TesseraSupport
import TesseraTopology

/// What a training run reports after each step on world rank 0: the
/// progress line (`ProgressDisplay`: every --log-every steps, the first and
/// the last; on a terminal a live line every step with ETA and MFU), and a
/// metrics line (`--metrics FILE`) on the same logged steps.
final class StepReporter {
    let config: TrainConfig
    let display: ProgressDisplay
    let metrics: MetricsLog?
    /// The TensorBoard events file (`--tensorboard DIR`); dropped after a failed write, which is reported once.
    var tensorboard: TensorBoardLog?
    let first: Int, tokensPerStep: Int, flopsPerStep: Double
    /// The peak MFU divides by (`ComputePeak.measured`, set by the trainer when `showsMFU` on any rank).
    var peak: Double?
    /// Whether this rank shows MFU: a live line or the metrics log.
    var showsMFU: Bool { display.live || metrics != nil || tensorboard != nil }
    let start = DispatchTime.now().uptimeNanoseconds

    /// Whether a stopped metrics log has been reported.
    private var warnedMetrics = false

    /// Publishes the metrics log (at a checkpoint and at the end of the run; see `GrowingFile`).
    func publish() {
        metrics?.publish()
        warnIfStopped()
    }

    /// Reports, once, that the metrics log stopped (a full disk): training goes on.
    private func warnIfStopped() {
        guard let failure = metrics?.failure, !warnedMetrics else { return }
        warnedMetrics = true
        display.warning("\(failure); metrics stop here, training goes on")
    }

    /// The reporter of a run of `config` from step `first`; prints through `log`, on world rank 0 only (`leader`).
    init(config: TrainConfig, first: Int, tokensPerStep: Int, leader: Bool, log: @escaping (String) -> Void) throws {
        self.config = config
        self.first = first
        self.tokensPerStep = tokensPerStep
        flopsPerStep = config.model.trainingFlops(tokens: tokensPerStep)
        display = ProgressDisplay(quiet: config.quiet || !leader, print: log)
        metrics = leader ? try config.metrics.map(MetricsLog.init) : nil
        tensorboard = leader ? try config.tensorboard.map(TensorBoardLog.init) : nil
    }

    /// Whether step `done` is a logged one (--log-every, the first and the last).
    func logged(_ done: Int) -> Bool {
        (config.logEvery > 0 && done % config.logEvery == 0) || done == config.steps || done == first + 1
    }

    /// Reports step result `r` (`done` steps completed) with its validation loss, the
    /// ranks' memory, and `suffix` for the progress line (e.g. the pipeline's stash).
    func report(_ r: StepResult, done: Int, validation: Double?, memory: [Int]?, suffix: String) {
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let gflops = flopsPerStep / r.seconds / 1e9
        let mfu = peak.map { gflops / $0 }
        let remaining = elapsed / Double(done - first) * Double(config.steps - done)
        let text = ProgressLine.format(step: done, of: config.steps, loss: r.loss, lr: r.lr,
                                       tokensPerSecond: Double(tokensPerStep) / r.seconds, gflops: gflops,
                                       elapsed: elapsed, remaining: remaining)
            + (mfu.map { String(format: " | MFU %.1f%%", 100 * $0) } ?? "") + suffix
        let isLogged = logged(done)
        display.progress(text, logged: isLogged)
        guard isLogged, metrics != nil || tensorboard != nil else { return }
        let comm = TraceRecorder.current?.lastStepCommunication()
        var line = StepMetrics(step: done, loss: r.loss, val_loss: validation, lr: Double(r.lr), grad_norm: r.gradNorm,
                               step_seconds: r.seconds, tokens_per_s: Double(tokensPerStep) / r.seconds,
                               gflops: gflops, mfu: mfu, elapsed_s: elapsed, memory_bytes: memory,
                               comm_exposed_s: comm?.exposedSeconds, comm_bytes: comm?.bytes)
        if let e = r.experts {
            line.moe_aux_loss = e.loadBalancingLoss; line.moe_z_loss = e.zLoss
            line.moe_dropped = e.droppedFraction; line.moe_max_over_mean = e.maxOverMean.max()
        }
        metrics?.write(line)
        warnIfStopped()
        do { try tensorboard?.write(line) } catch {
            display.warning("\(error); TensorBoard events stop here, training goes on")
            tensorboard = nil
        }
    }
}

extension TraceRecorder {
    /// The last recorded step's exposed communication (blocking operations
    /// and waits on started ones) in seconds, and the bytes its operations moved.
    func lastStepCommunication() -> (exposedSeconds: Double, bytes: Int)? {
        guard let step = events.lastIndex(where: { $0.kind == .region && $0.name == TraceRegion.step.rawValue })
        else { return nil }
        let begin = events[step].start
        var exposed = 0.0, bytes = 0
        for e in events[..<step].reversed() {
            guard e.end >= begin else { break }
            if e.kind == .wait || (e.kind == .comm && !e.async) { exposed += e.seconds }
            if e.kind == .comm { bytes += e.bytes }
        }
        return (exposed, bytes)
    }
}
