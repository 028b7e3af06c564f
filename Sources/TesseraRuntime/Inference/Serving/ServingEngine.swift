import Foundation
import Synchronization
import TesseraComm
import TesseraTopology
import TesseraModel

/// The generation engine run as a server's backend: requests join and
/// leave while it runs.
///
/// Every rank (threads of this process, or the processes of an mpirun job)
/// runs the same loop: world rank 0 gathers what arrived since the last
/// round (new sequences, cancellations, a stop) and broadcasts it as one
/// `ServingControl`; every rank applies it to its `ServingScheduler` and
/// runs one `GenerationEngine.round` over its paged caches
/// (`InferenceStage(model:blocks:blockSize:)`). With nothing to do, rank 0
/// waits up to `idleWait` for work and then broadcasts anyway (the other
/// ranks' heartbeat, well inside the collectives' timeout).
///
/// The server calls `submit`, `cancel` and `stop` from any thread; each
/// sequence's events (`GenerationEvent`: its bytes, then `.finished`) are
/// handed to the closure given with it, on rank 0's thread, as the step
/// that made them completes.
public final class ServingEngine: @unchecked Sendable {
    public let model: GPTConfig
    public let settings: ServingSettings
    let weights: Checkpoint, source: String
    /// Seconds rank 0 waits for work while idle before the heartbeat round.
    public var idleWait = 0.2

    private struct Inbox {
        var control = ServingControl()
        var handlers: [Int: @Sendable (GenerationEvent) -> Void] = [:]
        var nextID = 0
        var stats = ServingStats()
        /// The ranks have stopped: nothing more is served.
        var closed = false
    }
    private let inbox = Mutex(Inbox())
    private let arrived = NSCondition()

    /// Checks `settings` against the weights' model (a one-line `ConfigError`) before anything starts.
    public init(weights: Checkpoint, source: String, settings: ServingSettings) throws {
        try settings.validate(model: weights.config.model)
        self.model = weights.config.model; self.settings = settings; self.weights = weights; self.source = source
        inbox.withLock { $0.stats.blocks = settings.blockCount(model) }
    }

    /// A fresh sequence id.
    public func makeID() -> Int { inbox.withLock { i in defer { i.nextID += 1 }; return i.nextID } }

    /// Positions the pool holds in all: the longest context one sequence may use is min(this, the model's).
    public var poolPositions: Int { settings.blockCount(model) * settings.blockSize }

    /// Queues `request` for the next round; `onEvent` receives its bytes and its end.
    /// Once the engine has stopped (or failed), a request finishes at once with no bytes.
    public func submit(_ request: ServingRequest, onEvent: @escaping @Sendable (GenerationEvent) -> Void) {
        let closed = inbox.withLock { i in
            if !i.closed {
                i.handlers[request.id] = onEvent
                i.control.submit.append(request)
            }
            return i.closed
        }
        if closed { onEvent(.finished(request: request.id)) }
        arrived.lock(); arrived.signal(); arrived.unlock()
    }

    /// Cancels sequence `id` (waiting or running); its blocks are freed within a round. No more events reach it.
    public func cancel(_ id: Int) {
        inbox.withLock {
            $0.handlers[id] = nil
            $0.control.cancel.append(id)
        }
        arrived.lock(); arrived.signal(); arrived.unlock()
    }

    /// Cancels everything and makes `run` return once every rank has let go of its sequences.
    public func stop() {
        inbox.withLock { $0.control.stop = true }
        arrived.lock(); arrived.signal(); arrived.unlock()
    }

    /// The scheduler's state after the last round (rank 0).
    public var stats: ServingStats { inbox.withLock { $0.stats } }

    /// Runs the ranks until `stop`; blocks the calling thread (never call it from a Swift concurrency task).
    public func run(backend: Launcher.Backend = .automatic) throws {
        let layout = settings.layout
        let stages = try PipelinePartition.stages(layout, model: model)
        defer {
            // Whatever was still waiting for bytes (a stop, a failed rank) ends now.
            let rest = inbox.withLock { i in defer { i.handlers = [:]; i.closed = true }; return i.handlers }
            for (id, handler) in rest { handler(.finished(request: id)) }
        }
        // Memory (weights and the KV cache's blocks) was checked by `settings.validate`.
        try Launcher.run(Topology(layout), backend: backend) { [self] groups in
            let stage = groups.pp.rank, last = settings.pp - 1
            let gpt = GPT(model, seed: 0, tp: groups.tp, layers: stages[stage], first: stage == 0, last: stage == last)
            try weights.restore(into: gpt.parameters, source: source)
            gpt.useWeights(settings.weights)
            let inference = InferenceStage(model: gpt, blocks: settings.blockCount(model), blockSize: settings.blockSize)
            let scheduler = ServingScheduler(slots: settings.slots, groups: settings.groups,
                                             pool: BlockPool(blocks: settings.blockCount(model), blockSize: settings.blockSize),
                                             stepTokens: settings.stepTokens, prefixCaching: settings.prefixCaching)
            let engine = GenerationEngine(stage: inference, pipeline: groups.pp, scheduler: scheduler, recordLogits: false)
            try loop(engine, scheduler, world: groups.world, leader: groups.worldRank == 0)
        }
    }

    private func loop(_ engine: GenerationEngine, _ scheduler: ServingScheduler, world: ProcessGroup, leader: Bool) throws {
        var output = GenerationOutput(requests: 0, cacheBytes: 0, cacheBytesPerToken: 0)
        var stopping = false
        while true {
            let busy = scheduler.isBusy || engine.hasInFlight
            var message = leader ? takeControl(wait: !busy && !stopping).encoded : []
            var length = Int64(message.count)
            try withUnsafeMutablePointer(to: &length) { try world.broadcast(CommBuffer($0, count: 1), root: 0) }
            if !leader { message = Array(repeating: 0, count: Int(length)) }
            try message.withUnsafeMutableBufferPointer { try world.broadcast(CommBuffer($0.baseAddress!, count: $0.count), root: 0) }
            let control = ServingControl(decoding: message)
            control.submit.forEach(scheduler.submit)
            control.cancel.forEach(scheduler.cancel)
            if control.stop { stopping = true }
            if stopping { scheduler.cancelAll() }
            let worked = try engine.round(&output) { event in if leader { route(event) } }
            if leader {
                inbox.withLock {
                    $0.stats.running = scheduler.running; $0.stats.waiting = scheduler.waitingCount
                    $0.stats.blocksUsed = scheduler.pool.usedCount; $0.stats.preemptions = scheduler.preemptions
                    $0.stats.prefixQueriedBlocks = scheduler.pool.queriedBlocks
                    $0.stats.prefixHitBlocks = scheduler.pool.hitBlocks
                    if worked { $0.stats.steps += 1 }
                }
            }
            if stopping && !worked && !engine.hasInFlight && !scheduler.isBusy { return }
        }
    }

    /// Rank 0: what arrived since the last round, waiting up to `idleWait` for something when `wait`.
    private func takeControl(wait: Bool) -> ServingControl {
        if wait {
            arrived.lock()
            if inbox.withLock({ $0.control.isEmpty }) { _ = arrived.wait(until: Date().addingTimeInterval(idleWait)) }
            arrived.unlock()
        }
        return inbox.withLock { i in defer { i.control = ServingControl() }; return i.control }
    }

    private func route(_ event: GenerationEvent) {
        let id: Int, done: Bool
        switch event {
        case .token(let r, _), .logprobs(let r, _): id = r; done = false
        case .finished(let r): id = r; done = true
        }
        let handler = inbox.withLock { i in done ? i.handlers.removeValue(forKey: id) : i.handlers[id] }
        handler?(event)
    }
}

/// The serving engine's state after its last round: sequences running and
/// waiting, KV blocks in use of the pool's, preemptions and steps so far,
/// and prefix caching's full blocks looked up at admission and found.
public struct ServingStats: Sendable, Equatable {
    public var running = 0, waiting = 0, blocksUsed = 0, blocks = 0, preemptions = 0, steps = 0
    public var prefixQueriedBlocks = 0, prefixHitBlocks = 0
}
