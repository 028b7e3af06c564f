extension Layout {
    /// Every layout setting (flags `--dp`, `--tp`, …; keys `dp`, `tp`, … under `[layout]`).
    /// A new dimension is one row here beside its field.
    public static let table = SettingTable<Layout>([
        .int("dp", \.dp, 1...65536, .layout, help: "Data-parallel ranks."),
        .int("pp", \.pp, 1...65536, .layout, help: "Pipeline ranks (blocks split into stages)."),
        .int("cp", \.cp, 1...65536, .layout,
             help: "Context-parallel ranks (each sequence in 2·cp chunks)."),
        .choice("cp-mode", \.cpMode, .layout, help: "Context-parallel attention: ring or ulysses all-to-all."),
        .int("tp", \.tp, 1...65536, .layout, help: "Tensor-parallel ranks (must divide heads)."),
        .int("ep", \.ep, 1...65536, .layout, help: "Expert-parallel ranks within dp·cp (must divide dp·cp and experts)."),
        .bool("sp", \.sp, .layout, help: "Sequence parallelism in the tensor-parallel group (needs tp > 1)."),
        .int("zero", \.zero, 0...3, .layout,
             help: "ZeRO stage over dp (1 AdamW states, 2 +gradients, 3 +weights)."),
        .choice("schedule", \.schedule, .layout, help: "Pipeline schedule (needs pp > 1)."),
        .int("pp-chunks", \.ppChunks, 1...1024, .layout, aliases: ["chunks"],
             help: "Virtual stages per pipeline rank (interleaved schedule)."),
        Setting("pp-layers", \.ppLayers, section: .layout, valid: "comma-separated positive block counts like 3,3,2",
                help: "Blocks per virtual stage (default: balanced by cost).",
                decode: { $0.asString.flatMap(Layout.blockCounts).map(Optional.some) },
                encode: { $0.map { .string($0.map(String.init).joined(separator: ",")) } },
                accepts: { $0?.allSatisfy { $0 >= 1 } ?? true }),
        .int("micro-batches", \.microBatches, 1...1_048_576, .layout, aliases: ["microbatches"],
             help: "Micro-batches per step (pipeline's; gradient accumulation at pp 1)."),
        Setting("order", \.order, section: .layout, valid: "dp,pp,cp,tp in any order",
                help: "Mesh dimensions, outermost first (innermost on neighbouring ranks).",
                decode: { v in v.asString.flatMap { s in
                    let dims = s.split(separator: ",").compactMap { MeshDim(rawValue: String($0)) }
                    return dims.count == s.split(separator: ",").count ? dims : nil } },
                encode: { .string($0.map(\.rawValue).joined(separator: ",")) },
                accepts: { Set($0) == Set(MeshDim.allCases) && $0.count == MeshDim.allCases.count }),
    ])

    /// "3,3,2" as [3, 3, 2]; nil unless every item is a positive integer.
    static func blockCounts(_ text: String) -> [Int]? {
        let counts = text.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        return !counts.isEmpty && counts.count == text.split(separator: ",").count && counts.allSatisfy({ $0 >= 1 })
            ? counts : nil
    }

    /// Throws a `ConfigError` naming the value and what is valid for the
    /// first problem: a setting out of range, a dimension that does not train
    /// yet, a setting that needs another (sp without tp, a schedule without
    /// pp), or Megatron's constraints against `model` and the global `batch`:
    /// tp divides heads and 4·d, tp divides seq-len under sp, dp ×
    /// micro-batches divides the batch, pp × chunks stages fit the blocks.
    public func validate(model: GPTConfig, batch: Int) throws {
        try validateMesh()
        try validateExperts(model: model)
        try validateZeRO()
        if sp && tp == 1 {
            throw ConfigError("sp needs tp > 1 (it splits the sequence across the tensor-parallel group), got tp 1; "
                              + "add --tp N or drop --sp")
        }
        if pp == 1 {
            let stray = [schedule != Layout().schedule ? "schedule \(schedule.rawValue)" : nil,
                         ppChunks != 1 ? "pp-chunks \(ppChunks)" : nil,
                         ppLayers != nil ? "pp-layers \(ppLayers!.map(String.init).joined(separator: ","))" : nil]
            if let what = stray.compactMap({ $0 }).first {
                throw ConfigError("\(what) needs pp > 1 (a pipeline), got pp 1; add --pp N or drop it")
            }
        }
        func divisors(_ n: Int) -> [Int] { (1...max(1, n)).filter { n % $0 == 0 } }
        func list(_ xs: [Int]) -> String { xs.map(String.init).joined(separator: ", ") }
        if pp > 1 { try validateSchedule(); _ = try PipelinePartition.stages(self, model: model) }
        let d = model.dModel
        if model.heads % tp != 0 || (4 * d) % tp != 0 {
            let what = model.heads % tp != 0 ? "heads \(model.heads)" : "4·d-model \(4 * d)"
            throw ConfigError("tp \(tp) does not divide \(what); valid tp for heads \(model.heads): "
                              + list(divisors(model.heads).filter { (4 * d) % $0 == 0 }))
        }
        if cp > 1 { try validateContextParallel(model: model) }
        let local = model.seqLen / cp  // positions per sample on one context-parallel rank
        if sp && local % tp != 0 {
            let unit = tp * cp
            let near = [model.seqLen / unit * unit, (model.seqLen / unit + 1) * unit].filter { $0 > 0 }
            let what = cp == 1 ? "seq-len" : "the positions a rank holds (seq-len / cp = \(local))"
            throw ConfigError("sequence parallelism needs \(what) divisible by tp: seq-len \(model.seqLen), "
                              + (cp == 1 ? "" : "cp \(cp), ") + "tp \(tp); nearest valid seq-len: \(list(near)), or tp in "
                              + "\(list(divisors(local).filter { model.heads % $0 == 0 }))")
        }
        let unit = dp * microBatches
        if batch % unit != 0 {
            let near = [batch / unit * unit, (batch / unit + 1) * unit].filter { $0 > 0 }
            throw ConfigError("batch \(batch) is not divisible by dp \(dp) × micro-batches \(microBatches) = \(unit); "
                              + "nearest valid batch: \(list(near)); with this batch, dp × micro-batches must divide "
                              + "\(batch): \(list(divisors(batch)))")
        }
    }

    /// Context parallelism's constraints: seq-len cut into 2·cp equal chunks,
    /// and under Ulysses heads divisible by tp · cp.
    func validateContextParallel(model: GPTConfig) throws {
        func valid(_ ok: (Int) -> Bool) -> String {
            (1...max(1, model.seqLen / 2)).filter(ok).map(String.init).joined(separator: ", ")
        }
        if model.seqLen % (2 * cp) != 0 {
            throw ConfigError("context parallelism cuts each sequence into 2·cp = \(2 * cp) chunks, but seq-len "
                              + "\(model.seqLen) is not divisible by \(2 * cp); valid cp for seq-len \(model.seqLen): "
                              + valid { model.seqLen % (2 * $0) == 0 })
        }
        if cpMode == .ulysses && model.heads % (tp * cp) != 0 {
            throw ConfigError("ulysses splits heads over tp × cp = \(tp * cp), but heads \(model.heads) is not divisible "
                              + "by it; valid cp with tp \(tp): "
                              + valid { model.heads % (tp * $0) == 0 && model.seqLen % (2 * $0) == 0 }
                              + " (or --cp-mode ring)")
        }
    }

    /// Throws for a setting out of range or a mesh of more than 65,536 ranks
    /// (what `tessera mesh` needs; training checks more in `validate(model:batch:)`).
    public func validateMesh() throws {
        try Self.table.validate(self)
        let (world, overflow) = [dp, pp, cp, tp].reduce((1, false)) { acc, n in
            let (p, o) = acc.0.multipliedReportingOverflow(by: n); return (p, acc.1 || o) }
        if overflow || world > 65536 {
            throw ConfigError("layout \(name) needs dp \(dp) × pp \(pp) × cp \(cp) × tp \(tp) ranks, "
                              + "more than the 65536 a mesh may have")
        }
    }

    /// Throws unless the job's `ranks` (started by mpirun, or not) is the layout's world size.
    public func requireWorldSize(_ ranks: Int, underMPI: Bool) throws {
        guard ranks != worldSize else { return }
        throw ConfigError("layout \(name) needs dp \(dp) × pp \(pp) × cp \(cp) × tp \(tp) = \(worldSize) ranks, but "
                          + (underMPI ? "mpirun started \(ranks); use mpirun -np \(worldSize)"
                                      : "the job has \(ranks); start \(worldSize) ranks")
                          + " or change --dp/--pp/--cp/--tp")
    }
}
