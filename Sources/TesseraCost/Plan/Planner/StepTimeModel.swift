import TesseraTopology

/// A training step's time on a layout, by part.
public struct StepTime: Sendable, Equatable {
    /// Zero seconds everywhere (filled in by `StepTimeModel.evaluate`).
    public init() {}
    /// Seconds per optimizer step.
    public var seconds = 0.0
    /// The pipeline's makespan over all micro-batches (at pp 1: m · one micro-batch).
    public var pipeline = 0.0
    /// Of `pipeline`, tensor/context/expert-parallel communication on the busiest rank.
    public var layerCommunication = 0.0
    /// Idle share of the pipeline ranks (the simulator's bubble; 0 at pp 1).
    public var bubble = 0.0
    /// Data-parallel / ZeRO communication left after overlap with backward.
    public var dataParallelExposed = 0.0
    /// The optimizer's pass over its (sharded) states.
    public var optimizer = 0.0
    /// Ranks sharing cores: Σ busy time / cores, when that bounds the step.
    public var sharedCoreBound = 0.0
}

/// Step time: per-micro-batch costs of each virtual stage (`BlockCost`),
/// the schedule's makespan from `ScheduleSimulator` (the same one `tessera
/// schedule` draws, with point-to-point transfers on the pipeline's link),
/// then the data-parallel gradient sync (all-reduce; ZeRO-1/2
/// reduce-scatter + all-gather of weights; ZeRO-3 also gathers weights in
/// each micro-batch's forward and backward, overlapped with its compute) less
/// what overlaps the last backward, and the optimizer's memory-bound update.
/// Ranks that are threads on shared cores take at least Σ busy / cores.
public enum StepTimeModel {
    /// The step time of `layout` (its micro-batches set) for `m` on `hw`, with `plan` its pipeline;
    /// `cache` reuses a search's simulated makespans.
    public static func evaluate(_ m: ModelShape, layout: Layout, setup: TrainingSetup, hardware hw: Hardware,
                                pipeline plan: PipelinePlan, cache: PlanCache? = nil) throws -> StepTime {
        let comm = try CollectiveModel(hardware: hw, layout: layout)
        let gpus = layout.worldSize
        let rankThreads = hw.sharedCores.map { gpus == 1 ? Double($0) : 1 } ?? 1
        let b = Double(setup.microBatch)
        func block(expert: Bool) -> BlockCost {
            BlockCost.block(m, b: b, layout: layout, setup: setup, hardware: hw, comm: comm, rankThreads: rankThreads,
                            expert: expert)
        }
        let dense = block(expert: false), moe = block(expert: true)
        let head = BlockCost.head(m, b: b, layout: layout, setup: setup, hardware: hw, rankThreads: rankThreads)
        let last = plan.stageRanges.count - 1
        let stage = plan.stageRanges.indices.map { s in
            let blocks = plan.stageRanges[s], experts = Double(m.expertBlocks(in: blocks))
            return (Double(blocks.count) - experts) * dense + experts * moe + (s == last ? head : BlockCost())
        }
        let microBatches = Double(layout.microBatches)
        var t = StepTime()
        var busy = [Double](repeating: 0, count: plan.ranks)
        for r in 0..<plan.ranks { busy[r] = microBatches * plan.stages(ofRank: r).reduce(0) { $0 + stage[$1].total } }
        let key = PlanCache.makespanKey(layout, setup: setup)
        if let known = cache?.makespans[key] {
            (t.pipeline, t.bubble) = known
        } else if let schedule = plan.schedule {
            let sbh = b * Double(m.seqLen / layout.cp) * Double(m.dModel)
            let bytes = setup.convention.elementBytes * sbh / (layout.sp && layout.tp > 1 ? Double(layout.tp) : 1)
            let transfer = comm.seconds(.pointToPoint, bytes: bytes, along: .pp)
            let timeline = try ScheduleSimulator.run(schedule, transfer: transfer) { a in
                let c = stage[a.stage]
                switch a.kind {
                case .forward: return c.forward
                case .backward: return schedule.splitBackward ? c.inputGradient : c.inputGradient + c.weightGradient
                case .weight: return c.weightGradient
                default: return 0
                }
            }
            t.pipeline = timeline.stepTime
            t.bubble = timeline.bubbleFraction
            cache?.makespans[key] = (t.pipeline, t.bubble)
        } else {
            t.pipeline = busy[0]
        }
        let busiest = busy.indices.max { busy[$0] < busy[$1] }!
        t.layerCommunication = microBatches * plan.stages(ofRank: busiest).reduce(0) { $0 + stage[$1].communication }

        // Gradient sync and optimizer on the most loaded pipeline rank.
        var sync = [Double](repeating: 0, count: plan.ranks), opt = sync, syncBusy = sync
        for r in 0..<plan.ranks {
            let params = MemoryModel.parameters(rank: r, m, layout: layout, pipeline: plan).all
            let grads = setup.gradientBytes * params, weights = setup.weightBytes * params
            let lastBackward = plan.stages(ofRank: r).reduce(0) { $0 + stage[$1].inputGradient + stage[$1].weightGradient }
            let firstForward = plan.stages(ofRank: r).reduce(0) { $0 + stage[$1].forward }
            let reduceScatter = comm.dataParallel(.reduceScatter, bytes: grads)
            let gather = comm.dataParallel(.allGather, bytes: weights)
            func hidden(_ c: Double, behind work: Double) -> Double { max(0, c - work) }
            switch layout.zero {
            case 0:
                syncBusy[r] = comm.dataParallel(.allReduce, bytes: grads)
                sync[r] = hidden(syncBusy[r], behind: lastBackward)
            case 1:
                syncBusy[r] = reduceScatter + gather
                sync[r] = hidden(reduceScatter, behind: lastBackward) + hidden(gather, behind: firstForward)
            case 2:
                // Gradients stay sharded: every micro-batch's are reduce-scattered behind its backward.
                syncBusy[r] = microBatches * reduceScatter + gather
                sync[r] = microBatches * hidden(reduceScatter, behind: lastBackward) + hidden(gather, behind: firstForward)
            default:
                // Weights too: gathered for each micro-batch's forward and backward.
                syncBusy[r] = microBatches * (2 * gather + reduceScatter)
                sync[r] = microBatches * (hidden(gather, behind: firstForward)
                                          + hidden(gather + reduceScatter, behind: lastBackward))
            }
            let shards = Double(layout.zero >= 1 ? Topology.size(.dpcp, of: layout) : 1)
            // Adam reads weights (master), gradient, m, v and writes weights, m, v; bf16 also writes the working copy.
            let bytesPerParameter = 28 + setup.gradientBytes + (setup.precision == .bf16 ? 2 : 0)
            opt[r] = bytesPerParameter * params / shards / (hw.memoryBandwidth * rankThreads)
            busy[r] += opt[r] + syncBusy[r]
        }
        let slowest = (0..<plan.ranks).max { sync[$0] + opt[$0] < sync[$1] + opt[$1] }!
        t.dataParallelExposed = sync[slowest]
        t.optimizer = opt[slowest]
        t.seconds = t.pipeline + t.dataParallelExposed + t.optimizer
        if let cores = hw.sharedCores, gpus > cores {
            let replicas = Double(gpus / plan.ranks)
            t.sharedCoreBound = replicas * busy.reduce(0, +) / Double(cores)
            t.seconds = max(t.seconds, t.sharedCoreBound)
        }
        return t
    }
}
