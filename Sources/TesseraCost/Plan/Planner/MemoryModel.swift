import TesseraTopology

/// Memory per device for a model, a layout and a training setup: the one
/// model behind `tessera plan` and the runtime's launch-time check
/// (`MemoryEstimate`).
///
/// Model states by the ZeRO paper's placements (Rajbhandari et al. 2020, §5):
/// with Ψ the parameters a rank holds after tensor and pipeline splitting
/// and N = dp·cp the ranks sharing a replica's optimizer, stage 1 divides the
/// optimizer and master weights by N, stage 2 also the gradients, stage 3
/// also the weights; expert parameters shard over N/ep. Activations by
/// `ActivationModel`, times the micro-batches each rank holds at once in the
/// layout's schedule (`PipelinePlan.peakLive`). Every pipeline rank is
/// evaluated and the most loaded one returned.
public enum MemoryModel {
    /// The most loaded rank's memory and its pipeline rank.
    public static func mostLoaded(_ m: ModelShape, layout: Layout, setup: TrainingSetup,
                                  pipeline: PipelinePlan? = nil) throws -> (memory: MemoryBreakdown, pipelineRank: Int) {
        let plan = try pipeline ?? PipelinePlan(m, layout: layout)
        var best = (memory: MemoryBreakdown(), pipelineRank: 0)
        for r in 0..<plan.ranks {
            let mem = rank(r, m, layout: layout, setup: setup, pipeline: plan)
            if r == 0 || mem.total > best.memory.total { best = (mem, r) }
        }
        return best
    }

    /// Parameters pipeline rank `r` holds, as (all, of which in experts).
    public static func parameters(rank r: Int, _ m: ModelShape, layout: Layout, pipeline plan: PipelinePlan)
        -> (all: Double, expert: Double) {
        let blocks = plan.stages(ofRank: r).reduce((local: 0.0, expert: 0.0)) { sum, s in
            let p = m.blockParameters(plan.stageRanges[s], tp: layout.tp, ep: layout.ep)
            return (sum.local + p.local, sum.expert + p.expert)
        }
        var all = blocks.local
        let first = r == 0, last = r == plan.ranks - 1
        if first { all += m.embeddingParameters(tp: layout.tp) }
        if last { all += m.headParameters(tp: layout.tp) }
        if last && !first && m.tied { all += m.paddedVocab(tp: layout.tp) * Double(m.dModel) / Double(layout.tp) }
        return (all, blocks.expert)
    }

    /// Memory of pipeline rank `r`.
    public static func rank(_ r: Int, _ m: ModelShape, layout: Layout, setup: TrainingSetup,
                            pipeline plan: PipelinePlan) -> MemoryBreakdown {
        let params = parameters(rank: r, m, layout: layout, pipeline: plan)
        let n = Double(Topology.size(.dpcp, of: layout)), nExpert = Double(Topology.size(.expertData, of: layout))
        /// Ψ divided over the ranks that shard it when `sharded`.
        func share(_ sharded: Bool) -> Double {
            sharded ? (params.all - params.expert) / n + params.expert / nExpert : params.all
        }
        var mem = MemoryBreakdown()
        mem.weights = setup.weightBytes * share(layout.zero >= 3)
        mem.gradients = setup.gradientBytes * share(layout.zero >= 2)
        mem.adam = TrainingSetup.optimizerBytes * share(layout.zero >= 1)
        mem.master = setup.masterBytes * share(layout.zero >= 1)
        let b = Double(setup.microBatch), c = setup.convention
        let (tp, sp, cp) = (layout.tp, layout.sp && layout.tp > 1, layout.cp)
        func perBlock(expert: Bool) -> Double {
            ActivationModel.perBlock(m, b: b, tp: tp, sp: sp, cp: cp, recompute: setup.recompute, c, expert: expert)
        }
        let dense = perBlock(expert: false), moe = perBlock(expert: true)
        let head = ActivationModel.head(m, b: b, tp: tp, sp: sp, cp: cp, c)
        let embedding = ActivationModel.embedding(m, b: b, tp: tp, sp: sp, cp: cp, c)
        let lastStage = plan.stageRanges.count - 1
        mem.activations = plan.peakLive(rank: r) { s in
            let blocks = plan.stageRanges[s], experts = Double(m.expertBlocks(in: blocks))
            return (Double(blocks.count) - experts) * dense + experts * moe + (s == 0 ? embedding : 0)
                + (s == lastStage ? head : 0)
        }
        let sbh = Double(m.seqLen / layout.cp) * b * Double(m.dModel), e = c.elementBytes
        if sp { mem.buffers += e * sbh }
        if layout.pp > 1 { mem.buffers += 2 * e * sbh / (sp ? Double(tp) : 1) }
        if layout.zero >= 2 {
            // The units ZeROResidency attaches whole: the outer unit on this
            // rank and two blocks (the one in use and the prefetched next; the two largest).
            let outer = (r == 0 ? m.embeddingParameters(tp: tp) : 0) + (r == plan.ranks - 1 ? m.headParameters(tp: tp) : 0)
            let unit = outer + m.largestBlocks(2, of: plan.blockCounts(ofRank: r, m), tp: tp, ep: layout.ep)
            // Stage 3 gathers the float32 values (and makes the working copies
            // of them under bf16); stages 2-3 hold the unreduced gradients.
            // Under a pipeline stage 3 gathers whole chunks (`ZeROStageResidency`):
            // one chunk per rank is held for the step, of v chunks at most two.
            let v = Double(layout.ppChunks)
            let gatheredUnit = layout.pp > 1 ? params.all * min(2, v) / v : unit
            let gathered = layout.zero >= 3 ? (setup.weightBytes + setup.masterBytes) * gatheredUnit : 0
            mem.gathered = gathered
            mem.unreduced = setup.gradientBytes * unit
        }
        return mem
    }
}
