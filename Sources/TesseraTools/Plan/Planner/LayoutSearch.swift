import TesseraTopology
import TesseraCost

/// The search of `tessera plan` without `--layout`: every layout of the
/// device count (dp·pp·cp·tp = gpus) that the runtime trains
/// (`Topology.validate`) within the search space of `candidates`, with each
/// micro-batch size, schedule and ZeRO stage, at the least recomputation
/// that fits; the ones that fit ranked by tokens/s.
public struct LayoutSearch: Sendable {
    public var shape: ModelShape
    public var hardware: Hardware
    public var gpus: Int
    /// Training inputs; its micro-batch and recompute are replaced by each of `microBatches` and `recomputes`.
    public var setup: TrainingSetup
    /// Micro-batch sizes tried (sequences).
    public var microBatches = [1, 2, 4, 8]
    /// Recompute modes tried, lightest first (the first that fits is kept).
    public var recomputes: [Recompute] = Recompute.allCases
    /// Let tensor-parallel groups span more than one node.
    public var allowTPAcrossNodes = false
    /// Largest schedule (pp · micro-batches · chunks) simulated; bigger ones are skipped.
    public var maxScheduleSize = 20_000

    public init(shape: ModelShape, hardware: Hardware, gpus: Int, setup: TrainingSetup) {
        self.shape = shape; self.hardware = hardware; self.gpus = gpus; self.setup = setup
    }

    /// The candidate layouts (meshes, schedules, ZeRO stages) that the
    /// runtime trains (`Topology.validate`, with micro-batches left to `run`),
    /// unevaluated. The search space itself: tp within a node unless allowed
    /// wider, sequence parallelism whenever tp > 1, cp up to 8 for sequences
    /// of 4096 or more, 1F1B, zero-bubble H1 and interleaved with 2 chunks.
    public func candidates() -> [Layout] {
        let m = shape, divisors = Topology.divisors
        var out: [Layout] = []
        for tp in divisors(gpus) where allowTPAcrossNodes || tp <= hardware.gpusPerNode {
            for cp in divisors(gpus / tp) where cp <= 8 && (cp == 1 || m.seqLen >= 4096) {
                for pp in divisors(gpus / tp / cp) where pp <= m.layers {
                    let dp = gpus / tp / cp / pp
                    for ep in divisors(m.experts) {
                        var base = Layout()
                        (base.dp, base.pp, base.cp, base.tp, base.ep, base.sp) = (dp, pp, cp, tp, ep, tp > 1)
                        let schedules: [(PipelineScheduleKind, Int)] = pp == 1 ? [(.oneFOneB, 1)]
                            : [(.oneFOneB, 1), (.zeroBubbleH1, 1), (.interleaved, 2)]
                        // A schedule too large to simulate even at its fewest micro-batches (pp·chunks) is skipped
                        // before it is built: `run` would skip it at every micro-batch count, and building it to
                        // validate cost O(pp²) per candidate (minutes for a 100,000-layer model on 65,536 devices).
                        for (kind, chunks) in schedules where pp == 1 || pp * (pp * chunks) * chunks <= maxScheduleSize {
                            for zero in 0...3 {
                                var l = base
                                l.schedule = kind; l.ppChunks = chunks; l.zero = zero
                                // Checked with pp·chunks micro-batches of one sequence each (every schedule
                                // takes them); `run` sets the real count and `LayoutPlan` checks it again.
                                var probe = l
                                probe.microBatches = pp * chunks
                                guard (try? Topology.validate(probe, model: m, batch: dp * pp * chunks)) != nil else {
                                    continue
                                }
                                out.append(l)
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// The fastest fitting candidate of each mesh and schedule (at its lightest
    /// fitting recompute, best micro-batch size and ZeRO stage), fastest first,
    /// and the count of candidates evaluated.
    public func run() -> (ranked: [LayoutPlan], evaluated: Int) {
        var best: [String: LayoutPlan] = [:]
        var evaluated = 0
        let cache = PlanCache()
        for layout in candidates() {
            for mb in microBatches where setup.globalBatch % (layout.dp * mb) == 0 {
                let m = setup.globalBatch / (layout.dp * mb)
                if layout.pp > 1 && layout.pp * m * layout.ppChunks > maxScheduleSize { continue }
                for recompute in recomputes {
                    var s = setup
                    s.microBatch = mb; s.recompute = recompute
                    evaluated += 1
                    guard let plan = try? LayoutPlan(shape, layout: layout, setup: s, hardware: hardware, cache: cache,
                                                     timeOnlyIfFits: true) else { break }
                    guard plan.fits else { continue }
                    // One entry per mesh and schedule: a higher ZeRO stage or another micro-batch
                    // replaces it only when more than 0.1% faster (ties keep the simpler layout).
                    var mesh = layout
                    mesh.zero = 0
                    if best[mesh.name].map({ plan.tokensPerSecond > 1.001 * $0.tokensPerSecond }) ?? true {
                        best[mesh.name] = plan
                    }
                    break
                }
            }
        }
        return (best.values.sorted { $0.tokensPerSecond > $1.tokensPerSecond }, evaluated)
    }

    /// The least memory any layout of `gpus` devices needs (micro-batch 1,
    /// full recompute, m = pp micro-batches, each ZeRO stage the runtime
    /// takes for it), or nil when none is valid.
    public func leastMemory() -> Double? {
        var s = setup
        s.microBatch = 1; s.recompute = .full
        var least: Double?
        for candidate in candidates() where candidate.schedule == .oneFOneB {
            var l = candidate
            l.microBatches = l.pp
            guard let total = try? MemoryModel.mostLoaded(shape, layout: l, setup: s).memory.total else { continue }
            least = min(least ?? total, total)
        }
        return least
    }

    /// The smallest device count, doubling from twice `gpus` (up to 65,536),
    /// at which some layout fits in the device's memory, or nil.
    public func smallestFittingGPUCount() -> Int? {
        var wider = self
        wider.gpus = max(2 * gpus, 1)
        while wider.gpus <= 65_536 {
            if let least = wider.leastMemory(), least <= hardware.memoryPerDevice(gpus: wider.gpus) { return wider.gpus }
            wider.gpus *= 2
        }
        return nil
    }
}
