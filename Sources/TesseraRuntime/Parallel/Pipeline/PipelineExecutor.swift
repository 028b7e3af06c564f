import Foundation
import TesseraSupport
import TesseraKernels
import TesseraComm
import TesseraTopology
import TesseraModel

/// Runs one rank's list of a `PipelineSchedule` for one optimizer step:
/// forwards, backwards and weight gradients of its stage modules (any
/// `PipelineStage`), and the
/// point-to-point sends and receives between neighbouring stages over the
/// pipeline group. A stage's saved activations are dropped as soon as its
/// backward (B) has run; zero-bubble W's keep only what their products need.
public final class PipelineExecutor {
    /// One compute action as it ran: start and end on the machine's monotonic clock, in seconds.
    public struct TraceEntry: Sendable {
        public var action: PipelineAction
        public var start: Double, end: Double
    }

    let schedule: PipelineSchedule
    /// This rank's stage modules by virtual stage.
    let stages: [Int: any PipelineStage]
    let pp: ProcessGroup
    /// Largest number of micro-batches whose activations were held at once (last step).
    public private(set) var peakStashed = 0
    /// Largest activation bytes held in saved caches at once (last step).
    public private(set) var peakActivationBytes = 0
    /// The last step's compute actions, when tracing.
    public private(set) var trace: [TraceEntry] = []
    public var tracing = false
    /// Told around each compute action (ZeRO-3 gathers and frees a chunk's values); nil: parameters stay put.
    public weak var residency: (any PipelineResidency)?

    public init(schedule: PipelineSchedule, stages: [Int: any PipelineStage], pp: ProcessGroup) {
        self.schedule = schedule; self.stages = stages; self.pp = pp
    }

    /// Runs the step on `microBatches` (this dp rank's, in order) with the
    /// contexts `contexts[m]`; returns the summed token loss (non-zero on the
    /// last stage only). With `gradScale` nil (a forward-only schedule) no
    /// gradient is computed and no activation is kept.
    public func run(_ microBatches: [(tokens: [Int32], targets: [Int32])], contexts: [ForwardContext],
                    gradScale: Float?) throws -> Double {
        var inputs: [PipelineAction: Tensor] = [:], outputs: [PipelineAction: Tensor] = [:]
        var caches: [PipelineAction: any StageCache] = [:], weights: [PipelineAction: WeightGradients] = [:]
        var loss = 0.0
        func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
        peakStashed = 0
        peakActivationBytes = 0
        var liveBytes = 0
        trace = []
        let nextStage = residency == nil ? [] : schedule.nextComputeStage(rank: pp.rank)
        for (i, a) in schedule.actions[pp.rank].enumerated() {
            let key = PipelineAction(.forward, microBatch: a.microBatch, stage: a.stage)
            let ctx = contexts[a.microBatch]
            if a.isCompute { try residency?.willRun(a, next: nextStage[i]) }
            let t0 = tracing ? now() : 0
            let span = a.isCompute ? Trace.beginAction(a.kind.rawValue, microBatch: a.microBatch, stage: a.stage) : nil
            switch a.kind {
            case .recvActivation, .recvGradient:
                // The boundary's shape is the receiving stage's to say (rows held, width).
                let buf = Tensor(uninitialized: stages[a.stage]!.boundaryShape(ctx))
                let gradient = a.kind == .recvGradient
                try pp.recv(buf.data, count: buf.count, from: schedule.rank(of: gradient ? a.stage + 1 : a.stage - 1),
                            tag: schedule.tag(gradient ? a.stage + 1 : a.stage - 1, a.microBatch, gradient: gradient))
                if gradient { outputs[key] = buf } else { inputs[key] = buf }
            case .sendActivation, .sendGradient:
                let gradient = a.kind == .sendGradient
                let buf = gradient ? inputs.removeValue(forKey: key)! : outputs.removeValue(forKey: key)!
                try pp.send(buf.data, count: buf.count, to: schedule.rank(of: gradient ? a.stage - 1 : a.stage + 1),
                            tag: schedule.tag(a.stage, a.microBatch, gradient: gradient))
            case .forward:
                let mb = microBatches[a.microBatch]
                let (out, l, cache) = try stages[a.stage]!.erasedForward(
                    tokens: mb.tokens, input: inputs.removeValue(forKey: key), targets: mb.targets, ctx, gradScale: gradScale)
                loss += l
                if let out { outputs[key] = out }
                guard gradScale != nil else { break }
                caches[key] = cache
                liveBytes += cache.bytes
                peakActivationBytes = max(peakActivationBytes, liveBytes)
                peakStashed = max(peakStashed, caches.count + weights.count)
            case .backward:
                let deferred = schedule.splitBackward ? WeightGradients() : nil
                let cache = caches.removeValue(forKey: key)!
                liveBytes -= cache.bytes
                let dIn = try stages[a.stage]!.erasedBackward(cache,
                                                              dOutput: outputs.removeValue(forKey: key), ctx,
                                                              BackwardContext(deferredWeights: deferred))
                if let deferred { weights[key] = deferred }
                if let dIn { inputs[key] = dIn }
            case .weight:
                weights.removeValue(forKey: key)!.run()
            }
            span?.end()
            if a.isCompute { try residency?.didRun(a) }
            if tracing && a.isCompute { trace.append(TraceEntry(action: a, start: t0, end: now())) }
        }
        return loss
    }
}
