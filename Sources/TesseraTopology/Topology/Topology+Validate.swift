import TesseraSupport

extension Topology {
    /// The one check of whether a layout trains a model: `tessera train`,
    /// `verify`, `generate`, `plan --layout` and the planner's search all call
    /// it, so the planner proposes only what the runtime runs. Throws a
    /// one-line `ConfigError` naming the value and what is valid for the first
    /// problem: a setting out of range, a setting that needs another (sp
    /// without tp, a schedule without pp), ZeRO's and expert parallelism's
    /// constraints, and Megatron's against the model and the global `batch`
    /// (sequences): tp divides heads, kv-heads (or is divided by them) and the
    /// feed-forward width; context parallelism cuts sequences into 2·cp equal
    /// chunks (Ulysses: tp·cp divides heads); tp divides the positions a rank
    /// holds under sp; dp × micro-batches divides the batch; pp × chunks
    /// stages fit the blocks; selective recomputation is not combined with
    /// Ulysses attention.
    public static func validate(_ layout: Layout, model: ModelShape, batch: Int, recompute: Recompute = .none) throws {
        try layout.validateMesh()
        if recompute == .selective && layout.cp > 1 && layout.cpMode == .ulysses {
            throw ConfigError("recompute selective recomputes the attention core (one rank's, or ring attention's); "
                              + "Ulysses attention keeps its all-to-all outputs: use --cp-mode ring, or --recompute "
                              + "none or full")
        }
        try validateExperts(layout, model: model)
        try validateExpertTP(layout, model: model)
        try validateZeRO(layout)
        let (dp, pp, cp, tp) = (layout.dp, layout.pp, layout.cp, layout.tp)
        if layout.sp && tp == 1 {
            throw ConfigError("sp needs tp > 1 (it splits the sequence across the tensor-parallel group), got tp 1; "
                              + "add --tp N or drop --sp")
        }
        if pp == 1 {
            let stray = [layout.schedule != Layout().schedule ? "schedule \(layout.schedule.rawValue)" : nil,
                         layout.ppChunks != 1 ? "pp-chunks \(layout.ppChunks)" : nil,
                         layout.ppLayers.map { "pp-layers " + $0.map(String.init).joined(separator: ",") }]
            if let what = stray.compactMap({ $0 }).first {
                throw ConfigError("\(what) needs pp > 1 (a pipeline), got pp 1; add --pp N or drop it")
            }
        }
        if pp > 1 { try layout.validateSchedule(); _ = try PipelinePartition.stages(layout, model: model) }
        if !validTP(tp, model) {
            let what = model.heads % tp != 0 ? "heads \(model.heads)"
                : model.ffn % tp != 0 ? "the feed-forward width \(model.ffn)" : "kv-heads \(model.kvHeads)"
            let given = "heads \(model.heads)" + (model.kvHeads != model.heads ? " and kv-heads \(model.kvHeads)" : "")
            throw ConfigError("tp \(tp) does not divide \(what); valid tp for \(given): "
                              + list(divisors(model.heads).filter { validTP($0, model) }))
        }
        if cp > 1 { try validateContextParallel(layout, model: model) }
        let local = model.seqLen / cp  // positions per sample on one context-parallel rank
        if layout.sp && local % tp != 0 {
            let unit = tp * cp
            let near = [model.seqLen / unit * unit, (model.seqLen / unit + 1) * unit].filter { $0 > 0 }
            let what = cp == 1 ? "seq-len" : "the positions a rank holds (seq-len / cp = \(local))"
            throw ConfigError("sequence parallelism needs \(what) divisible by tp: seq-len \(model.seqLen), "
                              + (cp == 1 ? "" : "cp \(cp), ") + "tp \(tp); nearest valid seq-len: \(list(near)), or tp in "
                              + "\(list(divisors(local).filter { validTP($0, model) }))")
        }
        let unit = dp * layout.microBatches
        if batch % unit != 0 {
            let near = [batch / unit * unit, (batch / unit + 1) * unit].filter { $0 > 0 }
            throw ConfigError("batch \(batch) is not divisible by dp \(dp) × micro-batches \(layout.microBatches) = "
                              + "\(unit); nearest valid batch: \(list(near)); with this batch, dp × micro-batches must "
                              + "divide \(batch): \(list(divisors(batch)))")
        }
    }

    /// Whether tp ranks can split `model`: heads and the feed-forward width
    /// divide evenly, and kv-heads either divide over tp or are replicated
    /// on tp / kv-heads ranks each (Megatron's grouped-query rule).
    static func validTP(_ tp: Int, _ model: ModelShape) -> Bool {
        model.heads % tp == 0 && model.ffn % tp == 0 && (model.kvHeads % tp == 0 || tp % model.kvHeads == 0)
    }

    /// Context parallelism's constraints: seq-len cut into 2·cp equal chunks,
    /// and under Ulysses heads divisible by tp · cp.
    static func validateContextParallel(_ layout: Layout, model: ModelShape) throws {
        let (cp, tp) = (layout.cp, layout.tp)
        func valid(_ ok: (Int) -> Bool) -> String { list((1...max(1, model.seqLen / 2)).filter(ok)) }
        if model.seqLen % (2 * cp) != 0 {
            throw ConfigError("context parallelism cuts each sequence into 2·cp = \(2 * cp) chunks, but seq-len "
                              + "\(model.seqLen) is not divisible by \(2 * cp); valid cp for seq-len \(model.seqLen): "
                              + valid { model.seqLen % (2 * $0) == 0 })
        }
        if layout.cpMode == .ulysses && model.heads % (tp * cp) != 0 {
            throw ConfigError("ulysses splits heads over tp × cp = \(tp * cp), but heads \(model.heads) is not divisible "
                              + "by it; valid cp with tp \(tp): "
                              + valid { model.heads % (tp * $0) == 0 && model.seqLen % (2 * $0) == 0 }
                              + " (or --cp-mode ring)")
        }
    }

    /// Expert parallelism's constraints: ep needs experts, divides them and
    /// the dp × cp ranks it is carved from (an ep group may span
    /// context-parallel positions: each rank's router has gathered its
    /// samples' logits over cp, and experts treat tokens one by one).
    static func validateExperts(_ layout: Layout, model: ModelShape) throws {
        let ep = layout.ep, ranks = layout.dp * layout.cp
        guard ep > 1 else { return }
        let valid = list(divisors(ranks).filter { model.experts % $0 == 0 })
        if model.experts <= 1 {
            throw ConfigError("ep \(ep) needs a mixture of experts to split; add --experts E (a multiple of \(ep)) or use ep 1")
        }
        if model.experts % ep != 0 {
            let over = layout.cp == 1 ? "dp \(layout.dp)" : "dp × cp = \(ranks)"
            throw ConfigError("experts \(model.experts) are not divisible by ep \(ep); valid ep with \(over): \(valid)")
        }
        if ranks % ep != 0 {
            throw ConfigError("ep \(ep) must divide dp × cp = \(ranks) (expert-parallel ranks are data-parallel ranks); "
                              + "valid ep: \(valid), or raise --dp to a multiple of \(ep)")
        }
    }

    /// ZeRO's constraints. Any stage shards over the dp × cp ranks, which
    /// hold the same parameters (their gradients are partial sums over
    /// different tokens), so it needs dp · cp > 1: `--cp 2 --zero 3` at dp 1
    /// shards over the two context-parallel ranks; with one such rank it
    /// would shard over nothing, so it is refused rather than silently
    /// ignored. Every stage composes with a pipeline: stages 1 and 2
    /// reduce-scatter once, after the pipeline's flush (Megatron's
    /// distributed optimizer), and stage 3 gathers whole chunks around the
    /// schedule's actions (`ZeROStageResidency`), with any schedule.
    static func validateZeRO(_ layout: Layout) throws {
        let zero = layout.zero
        guard zero > 0 else { return }
        if layout.dp * layout.cp == 1 {
            throw ConfigError("zero \(zero) shards over the data- and context-parallel ranks and needs dp × cp > 1, "
                              + "got dp 1 × cp 1; add --dp N or --cp N (N ≥ 2), or drop --zero")
        }
    }

    /// Expert tensor parallelism: `expert-tp` is 1 (whole experts on every
    /// tensor-parallel rank) or tp (each expert's MLP split like the dense
    /// one: column-parallel up, row-parallel down), needs experts to split,
    /// and tp must divide each expert's hidden width.
    static func validateExpertTP(_ layout: Layout, model: ModelShape) throws {
        let (expertTP, tp) = (layout.expertTP, layout.tp)
        guard expertTP > 1 else { return }
        if expertTP != tp {
            throw ConfigError("expert-tp \(expertTP) must be 1 (whole experts on each tensor-parallel rank) or tp "
                              + "(each expert split like the dense MLP); valid expert-tp with tp \(tp): "
                              + (tp > 1 ? "1, \(tp)" : "1 (add --tp N to split experts)"))
        }
        if model.experts <= 1 {
            throw ConfigError("expert-tp \(expertTP) needs a mixture of experts to split; add --experts E or use expert-tp 1")
        }
        if model.expertFFN % tp != 0 {
            let near = [model.expertFFN / tp * tp, (model.expertFFN / tp + 1) * tp].filter { $0 > 0 }
            throw ConfigError("expert-tp \(expertTP) splits each expert's hidden width \(model.expertFFN) over tp \(tp), "
                              + "which does not divide it; nearest valid expert-hidden: " + list(near) + ", or expert-tp 1")
        }
    }

    /// The positive divisors of `n`, ascending.
    public static func divisors(_ n: Int) -> [Int] { (1...max(1, n)).filter { n % $0 == 0 } }

    static func list(_ xs: [Int]) -> String { xs.map(String.init).joined(separator: ", ") }
}
