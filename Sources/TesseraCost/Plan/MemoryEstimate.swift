import Foundation
import TesseraSupport
import TesseraTopology

/// The memory a layout's rank will need, estimated from the config alone
/// before anything is allocated, and the check that the ranks this machine
/// runs fit in its memory.
///
/// All arithmetic is in `Double`, so a config like `layers = 1e18` gives a
/// huge estimate instead of an overflowed count. Per rank (see
/// `MemoryBreakdown` for the terms): the local parameters — the tied
/// embedding's padded vocabulary and the block matrices split over tp, the
/// blocks over pp stages (the pipeline rank with the most block parameters,
/// plus both embeddings), mixture-of-experts blocks with the router and the
/// E/ep experts this rank holds, whole or split over tp by `--expert-tp`
/// (`ModelShape`) — and the
/// activations of the micro-batches a stage keeps for backward, per layer
/// by `ActivationModel` (Tessera's float32 convention), plus the logits and their gradient;
/// under ZeRO the weights, gradients and moments per `ZeROMemory` (what
/// each stage shards over dp·cp, experts over dp·cp/ep, and at stage 3 the gathered units), and from
/// stage 2 the unreduced gradients of the units backward holds at once.
public struct MemoryEstimate: Sendable {
    /// One rank's bytes.
    public var perRank: MemoryBreakdown
    /// Ranks of the job running on this machine (all of them on threads).
    public var ranksHere: Int
    /// Samples of one micro-batch on one rank.
    public var microBatchSamples: Int
    /// Parameters of one rank's model replica part (its tp shard of its pp stage).
    public var parameters: Double

    /// The estimate for `config` with `ranksHere` of its ranks on this machine.
    public init(_ config: TrainConfig, ranksHere: Int) {
        let m = config.model
        let (L, d, pp) = (Double(m.layers), Double(m.dModel), Double(config.pp))
        // The blocks of the pipeline rank holding the most block parameters (every block at pp 1), by the
        // planner's `ModelShape`: dense blocks (12d² + 7d)/t + 6d, mixture-of-experts blocks with the router
        // and this rank's experts whole.
        var shape = ModelShape(config.model)
        shape.expertsWholeOverTP = config.layout.expertTP == 1  // --expert-tp N = tp: each expert's MLP split over tp
        let embeddings = shape.embeddingParameters(tp: config.tp)  // the padded vocabulary's rows and the positions
        let pipeline = try? PipelinePlan(shape, layout: config.layout)
        var stages: [[Range<Int>]] = [[0..<Int((L / pp).rounded(.up))]]
        if let p = pipeline {
            stages = (0..<p.ranks).map { r in p.stages(ofRank: r).map { p.stageRanges[$0] } }
        }
        let blocks = stages.map { ranges in
            ranges.reduce((local: 0.0, expert: 0.0)) { sum, range in
                let b = shape.blockParameters(range, tp: config.tp, ep: config.layout.ep)
                return (sum.local + b.local, sum.expert + b.expert)
            }
        }.max { $0.local < $1.local } ?? (local: 0, expert: 0)
        let params = embeddings + blocks.local + shape.headParameters(tp: config.tp)  // final norm, untied head
        let largestBlock = shape.largestBlocks(1, of: (1, blocks.expert > 0 ? 1 : 0), tp: config.tp,
                                               ep: config.layout.ep)
        let samples = max(1, config.batch / max(1, config.dp) / max(1, config.microBatches))
        // Activations of the most loaded rank from the planner's model (the schedule's micro-batches in
        // flight, Tessera's float32 accounting), the one model `tessera plan` uses too.
        let setup = TrainingSetup(globalBatch: config.batch, microBatch: samples, precision: .fp32,
                                  recompute: config.recompute, convention: .tessera)
        let planned = (try? MemoryModel.mostLoaded(shape, layout: config.layout, setup: setup))?.memory
            ?? MemoryModel.rank(0, shape, layout: config.layout.withoutPipeline, setup: setup,
                                pipeline: try! PipelinePlan(shape, layout: config.layout.withoutPipeline))
        var units = ZeROMemory.gatheredBytes(outer: embeddings + 2 * d, block: largestBlock, prefetch: true)
        var unreduced = units
        if config.pp > 1 {
            // Under a pipeline ZeRO-3's unit is a chunk (`ZeROStageResidency`): with one chunk per rank it is
            // held for the whole step, with v chunks at most two at once (≈ 2/v of the rank's parameters); the
            // full gradients stay attached from each chunk's first backward to the sync after the flush.
            let chunks = Double(config.ppChunks)
            units = 4 * params * min(2, chunks) / chunks
            unreduced = 4 * params
        }
        // Dense buckets shard over dp·cp, expert buckets over the expert-data-parallel group (dp·cp/ep ranks).
        let expertRanks = Double(Topology.size(.expertData, of: config.layout))
        perRank = ZeROMemory.modelStates(parameters: params, ranks: Double(Topology.size(.dpcp, of: config.layout)),
                                         stage: config.layout.zero,
                                         gathered: units, expert: blocks.expert, expertRanks: max(1, expertRanks))
        perRank.activations = planned.activations
        if config.layout.zero >= 2 { perRank.unreduced = unreduced }
        self.ranksHere = ranksHere
        microBatchSamples = samples
        parameters = params
    }

    /// Bytes the job needs on this machine.
    public var totalHere: Double { perRank.total * Double(ranksHere) }

    /// Memory this process may use: MemAvailable, capped by a cgroup limit; nil where unknown.
    public static var availableBytes: Double? {
        var best: Double?
        if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
           let kb = line.split(separator: " ").dropFirst().first.flatMap({ Double($0) }) {
            best = kb * 1024
        }
        if let text = try? String(contentsOfFile: "/sys/fs/cgroup/memory.max", encoding: .utf8),
           let limit = Double(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
            best = min(best ?? limit, limit)
        }
        return best
    }

    /// Throws a `ConfigError` unless the job's ranks on this machine fit in
    /// `available` bytes, naming the estimate, the largest term and what
    /// would fit. Called once, by `Launcher.run`, before any rank starts.
    public func require(available: Double?) throws {
        guard let available, totalHere > available else { return }
        let fmt = MemoryBreakdown.format
        let largest = perRank.largest
        let perRankRoom = available / Double(ranksHere)
        var fits: String
        if largest.name == "activations" {
            let other = perRank.total - perRank.activations
            let samples = Int(max(0, (perRankRoom - other) / perRank.activations * Double(microBatchSamples)))
            fits = samples >= 1 ? "micro-batches of at most \(samples) sample(s) per rank (now \(microBatchSamples)): "
                                  + "raise --micro-batches or --dp, or lower --batch"
                                : "not even one sample per micro-batch: lower --seq-len, --layers or --d-model"
        } else {
            let params = max(0, (perRankRoom - perRank.activations) / 16)
            fits = String(format: "at most %.3g parameters per rank (now %.3g): lower --layers, --d-model or "
                          + "--vocab, or raise --tp/--pp, or shard over --dp with --zero", params, parameters)
        }
        throw ConfigError("this run needs about \(fmt(perRank.total)) per rank × \(ranksHere) rank(s) on this "
                          + "machine = \(fmt(totalHere)), but \(fmt(available)) is available; largest term: "
                          + "\(largest.name) \(fmt(largest.bytes)) per rank; what fits: \(fits)")
    }
}
