import TesseraSupport
import TesseraTopology
import TesseraCost

/// One layout as the planner sees it: memory of the most loaded device,
/// whether it fits, step time and throughput, and the term that binds.
public struct LayoutPlan: Sendable {
    public var layout: Layout
    public var setup: TrainingSetup
    public var memory: MemoryBreakdown
    /// Pipeline rank of the most loaded device.
    public var loadedStage: Int
    public var fits: Bool
    public var time: StepTime
    public var tokensPerSecond: Double
    /// Model FLOPs (no recompute) per second per device, in TFLOP/s.
    public var tflopsPerDevice: Double
    /// Model FLOPs utilisation: achieved model FLOP/s per device over the device's peak at the precision.
    public var mfu: Double
    /// Hardware FLOPs (model FLOPs plus recomputation, `ModelShape.hardwareFlops`) per second per device, in TFLOP/s.
    public var hardwareTflopsPerDevice: Double
    /// Hardware FLOPs utilisation: achieved hardware FLOP/s per device over the device's peak (≥ `mfu`).
    public var hfu: Double

    /// Evaluates `layout` (its micro-batches: global batch / (dp · micro-batch)) for `m` on `hw`;
    /// with `timeOnlyIfFits` a layout that does not fit gets no step time (0 tokens/s).
    /// A layout whose `expertTP` is tp > 1 splits the experts over tp whatever the shape says
    /// (`ModelShape.expertsWholeOverTP`). Throws the runtime's `ConfigError` (`Topology.validate`) for a
    /// layout the model or batch cannot take.
    public init(_ m: ModelShape, layout given: Layout, setup: TrainingSetup, hardware hw: Hardware,
                cache: PlanCache? = nil, timeOnlyIfFits: Bool = false) throws {
        var m = m
        if given.expertTP > 1 { m.expertsWholeOverTP = false }
        var layout = given
        layout.microBatches = try Self.microBatches(layout, setup: setup)
        try Topology.validate(layout, model: m, batch: setup.globalBatch, recompute: setup.recompute)
        let pipeline = try cache?.pipeline(m, layout: layout) ?? PipelinePlan(m, layout: layout)
        let loaded = try MemoryModel.mostLoaded(m, layout: layout, setup: setup, pipeline: pipeline)
        self.layout = layout
        self.setup = setup
        memory = loaded.memory
        loadedStage = loaded.pipelineRank
        fits = memory.total <= hw.memoryPerDevice(gpus: layout.worldSize)
        guard fits || !timeOnlyIfFits else {
            time = StepTime(); time.seconds = .infinity; tokensPerSecond = 0; tflopsPerDevice = 0; mfu = 0
            hardwareTflopsPerDevice = 0; hfu = 0
            return
        }
        time = try StepTimeModel.evaluate(m, layout: layout, setup: setup, hardware: hw, pipeline: pipeline,
                                          cache: cache)
        let tokens = Double(setup.globalBatch * m.seqLen)
        tokensPerSecond = tokens / time.seconds
        let gpus = Double(layout.worldSize)
        let perDevice = m.modelFlops(tokens: tokens) / time.seconds / gpus
        tflopsPerDevice = perDevice / 1e12
        let cores = Double(hw.sharedCores ?? 1)
        let devicePeak = hw.peak(setup.precision) * (hw.sharedCores == nil ? 1 : (gpus == 1 ? cores : min(1, cores / gpus)))
        mfu = perDevice / devicePeak
        let hardwarePerDevice = m.hardwareFlops(tokens: tokens, recompute: setup.recompute) / time.seconds / gpus
        hardwareTflopsPerDevice = hardwarePerDevice / 1e12
        hfu = hardwarePerDevice / devicePeak
    }

    /// Micro-batches per step: global batch / (dp · micro-batch), or the layout's own when it names them.
    static func microBatches(_ layout: Layout, setup: TrainingSetup) throws -> Int {
        let unit = layout.dp * setup.microBatch
        guard setup.globalBatch % unit == 0 else {
            throw ConfigError("global batch \(setup.globalBatch) is not divisible by dp \(layout.dp) × micro-batch "
                              + "\(setup.microBatch) = \(unit); valid micro-batch for dp \(layout.dp): "
                              + Topology.divisors(setup.globalBatch / max(1, layout.dp)).map(String.init).joined(separator: ", "))
        }
        return layout.schedule == .naive && layout.pp > 1 ? 1 : setup.globalBatch / unit
    }


    /// The term that limits this layout, in words: memory when it does not
    /// fit, else the largest part of the step.
    public func binding(_ hw: Hardware) -> String {
        let fmt = MemoryBreakdown.format, room = hw.memoryPerDevice(gpus: layout.worldSize)
        if !fits {
            let largest = memory.terms.max { $0.bytes < $1.bytes }!
            return "needs \(fmt(memory.total)) > \(fmt(room)); largest: \(largest.name) \(fmt(largest.bytes))"
        }
        let s = time.seconds
        let pipelineCompute = time.pipeline * (1 - time.bubble) - time.layerCommunication
        let parts: [(String, Double)] = [
            ("compute", pipelineCompute), ("tp/cp/ep communication", time.layerCommunication),
            ("pipeline bubble", time.pipeline * time.bubble), ("dp/zero sync", time.dataParallelExposed),
            ("optimizer", time.optimizer),
            ("shared cores", time.sharedCoreBound > time.pipeline + time.dataParallelExposed + time.optimizer
                ? time.sharedCoreBound - time.pipeline - time.dataParallelExposed - time.optimizer : 0),
        ]
        let top = parts.max { $0.1 < $1.1 }!
        return String(format: "%@ %.0f%% of the step; memory %@ of %@", top.0, 100 * top.1 / s,
                      fmt(memory.total), fmt(room))
    }
}
